//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package netpoll_test

import (
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/kerneltest"
	"github.com/mobsim/mobsim/netpoll"
)

// contractBufBytes is SO_RCVBUF and SO_SNDBUF on both ends of the suite's
// connections, so that a send buffer fills after a few KiB instead of the
// megabytes loopback auto-tuning allows.
const contractBufBytes = 4096

// contractDialTimeout bounds one Dial of the suite.
const contractDialTimeout = 10 * time.Second

// contractSettle is how long Settle waits. Loopback moves bytes, FINs and
// RSTs within the sending system call; the suite's bounded loops absorb
// any delay beyond this.
const contractSettle = 2 * time.Millisecond

// contractHarness gives the contract suite a netpoll Poller (epoll or
// kqueue, whichever this system has) and loopback TCP connections whose
// peers are netpoll Conns too.
type contractHarness struct {
	p *netpoll.Poller
}

func newContractHarness(t *testing.T) kerneltest.Harness {
	return newContractHarnessConfig(t, netpoll.Config{})
}

// newContractHarnessConfig is newContractHarness with a Poller made from
// cfg (say, io_uring off, so the batch subtests check the writev loop).
func newContractHarnessConfig(t *testing.T, cfg netpoll.Config) kerneltest.Harness {
	p, err := netpoll.NewConfig(cfg)
	if err != nil {
		t.Fatalf("netpoll.NewConfig: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return &contractHarness{p: p}
}

func (h *contractHarness) Poller() kernel.Poller { return h.p }

func (h *contractHarness) Listen() (kernel.Listener, error) {
	return netpoll.Listen("tcp4", "127.0.0.1:0", netpoll.ListenConfig{
		RecvBufBytes: contractBufBytes, SendBufBytes: contractBufBytes,
	})
}

func (h *contractHarness) Dial(l kernel.Listener) (kerneltest.Peer, error) {
	c, err := netpoll.DialTimeout("tcp4", l.(*netpoll.Listener).Addr().String(), contractDialTimeout)
	if err != nil {
		return nil, err
	}
	if err := c.SetBuffers(contractBufBytes, contractBufBytes); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (h *contractHarness) Settle() { time.Sleep(contractSettle) }
