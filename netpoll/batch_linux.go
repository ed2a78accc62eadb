//go:build linux

package netpoll

import (
	"errors"

	"github.com/mobsim/mobsim/kernel"
)

// errPollerClosed is BatchPath's reason once the Poller is closed.
var errPollerClosed = errors.New("netpoll: poller is closed")

// batcher is the Poller's WriteBatch state: an io_uring ring, or none and
// the reason why.
type batcher struct {
	ring   *uring // nil: the writev loop
	reason error  // why ring is nil
	stats  BatchStats
}

// startBatcher decides, once per Poller, how WriteBatch makes its writes:
// through an io_uring ring if cfg allows it, setup succeeds and the ring
// passes the probe, else the writev loop, keeping the reason. Refusals
// come as errors from setup: ENOSYS (no io_uring, or a seccomp filter or
// sandbox that hides it), EPERM (sysctl kernel.io_uring_disabled, or a
// seccomp filter such as a container runtime's default), ENOMEM (the
// locked-memory limit of kernels before 5.12).
func startBatcher(cfg Config, setup uringSetupFunc) batcher {
	if cfg.NoIOUring {
		return batcher{reason: ErrIOUringOff}
	}
	r, err := newURing(cfg.ringEntries(), setup)
	if err != nil {
		return batcher{reason: err}
	}
	if err := r.probe(uringSendFlags); err != nil {
		r.close()
		return batcher{reason: err}
	}
	return batcher{ring: r}
}

// write makes a batch's writes. A batch of one write takes Writev even
// with a ring: one system call either way, and sendmsg costs less than an
// io_uring request (BenchmarkWriteBatch/K=1: about 400 ns against 600).
func (b *batcher) write(ws []kernel.BatchWrite) {
	if b.ring == nil || len(ws) == 1 {
		writeEach(ws, &b.stats)
		return
	}
	if err := b.ring.write(ws, &b.stats); err != nil {
		b.ring.close() // its own failure adds nothing to err
		b.ring, b.reason = nil, err
	}
}

func (b *batcher) path() (BatchPath, error) {
	if b.ring != nil {
		return BatchIOUring, nil
	}
	return BatchWritev, b.reason
}

// close releases the ring; later batches take the writev loop.
func (b *batcher) close() error {
	if b.ring == nil {
		return nil
	}
	err := b.ring.close()
	b.ring, b.reason = nil, errPollerClosed
	return err
}
