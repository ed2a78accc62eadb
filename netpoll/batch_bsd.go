//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package netpoll

import (
	"errors"

	"github.com/mobsim/mobsim/kernel"
)

// batcher is the Poller's WriteBatch state. io_uring is Linux's, so here
// every batch takes the writev loop.
type batcher struct {
	stats BatchStats
}

// errIOUringLinuxOnly is BatchPath's reason on these systems.
var errIOUringLinuxOnly = errors.New("netpoll: io_uring is Linux-only")

// NewConfig is New with a Config. Only its checks apply here: there is no
// io_uring to turn off or size.
func NewConfig(cfg Config) (*Poller, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return New()
}

func (b *batcher) write(ws []kernel.BatchWrite) { writeEach(ws, &b.stats) }

func (b *batcher) path() (BatchPath, error) { return BatchWritev, errIOUringLinuxOnly }
