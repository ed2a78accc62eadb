package netpoll_test

import (
	"testing"

	"github.com/mobsim/mobsim/kerneltest"
)

// The seam's contract suite on the epoll backend, over loopback TCP.
func TestKernelContractEpoll(t *testing.T) {
	kerneltest.Run(t, newContractHarness)
}
