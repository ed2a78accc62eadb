//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package netpoll

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"golang.org/x/sys/unix"
)

// Compile-time proof that the real kernel fits the seam.
var (
	_ kernel.Poller       = (*Poller)(nil)
	_ kernel.Listener     = (*Listener)(nil)
	_ kernel.Stream       = (*Conn)(nil)
	_ kernel.VectorWriter = (*Conn)(nil)
)

// ReservedToken is the one token a caller may not register: the epoll
// poller tags its own wake-up eventfd with it (the event's data word is all
// that tells events apart) and filters its events out of every batch. The
// kqueue poller rejects it too, so that code behaves the same everywhere.
const ReservedToken = kernel.ReservedToken

// ErrReservedToken is returned by Register and Reregister for ReservedToken.
var ErrReservedToken = errors.New("netpoll: token is reserved for the poller's wake-up")

// errEmptyBatch is returned by Poll when events has no room: the kernels
// reject a zero-length event array, and waiting could then never report.
var errEmptyBatch = errors.New("netpoll: poll: events slice is empty")

// pollBatchMax is the size of the Poller's fixed array of raw events, and so
// the most events one Poll returns.
const pollBatchMax = 256

// pollTimeoutMax caps a Poll timeout (about 24.8 days): epoll_wait takes an
// int of milliseconds. kqueue has a lower cap of its own. A caller that waits
// longer just polls again.
const pollTimeoutMax = math.MaxInt32 * time.Millisecond

// sourceFD returns the descriptor behind src, which must come from this
// package (a non-nil *Listener or *Conn). Pointers only: the kqueue poller
// tells registrations apart by comparing sources.
func sourceFD(src kernel.Source) (int, error) {
	fd := -1
	switch s := src.(type) {
	case *Conn:
		if s == nil {
			return -1, fmt.Errorf("netpoll: source is a nil *Conn")
		}
		fd = s.fd
	case *Listener:
		if s == nil {
			return -1, fmt.Errorf("netpoll: source is a nil *Listener")
		}
		fd = s.fd
	default:
		return -1, fmt.Errorf("netpoll: source %T is not a netpoll *Conn or *Listener", src)
	}
	if fd < 0 {
		return -1, fmt.Errorf("netpoll: source %v is closed", src)
	}
	return fd, nil
}

// Now returns the time since the Poller was created, from the monotonic
// clock. netpoll is the real kernel, so it may read the real clock.
func (p *Poller) Now() time.Duration {
	return time.Since(p.start)
}

// waitRetrying calls wait with what is left of timeout, again after every
// EINTR, so an interrupted wait resumes instead of returning early; both
// backends poll through it. A wait interrupted after its time ran out
// returns no events.
func waitRetrying(timeout time.Duration, wait func(time.Duration) (int, error)) (int, error) {
	began := time.Now()
	left := timeout
	for {
		n, err := wait(left)
		if err != unix.EINTR {
			return n, err
		}
		if left = remaining(timeout, began); left == 0 {
			return 0, nil
		}
	}
}

// remaining returns what is left of a Poll timeout after an interrupted wait
// that began at began. A negative timeout (wait without limit) stays
// negative; an expired one becomes 0.
func remaining(timeout time.Duration, began time.Time) time.Duration {
	if timeout < 0 {
		return timeout
	}
	return max(timeout-time.Since(began), 0)
}
