package netpoll_test

import (
	"testing"

	"github.com/mobsim/mobsim/kerneltest"
	"github.com/mobsim/mobsim/netpoll"
)

// The seam's contract suite on the epoll backend, over loopback TCP, with
// WriteBatch on io_uring where this kernel allows it.
func TestKernelContractEpoll(t *testing.T) {
	p, err := netpoll.New()
	if err != nil {
		t.Fatal(err)
	}
	path, why := p.BatchPath()
	p.Close()
	t.Logf("WriteBatch path: %v (%v)", path, why)
	kerneltest.Run(t, newContractHarness)
}

// The same suite with io_uring turned off: WriteBatch takes the writev
// loop, which must keep the same contract.
func TestKernelContractEpollNoIOUring(t *testing.T) {
	kerneltest.Run(t, func(t *testing.T) kerneltest.Harness {
		return newContractHarnessConfig(t, netpoll.Config{NoIOUring: true})
	})
}
