//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package netpoll_test

import (
	"testing"

	"github.com/mobsim/mobsim/kerneltest"
)

// The seam's contract suite on the kqueue backend, over loopback TCP. It is
// the one netpoll test that runs on macOS and the BSDs:
// go test -count=1 -v -run TestKernelContractKqueue ./netpoll
func TestKernelContractKqueue(t *testing.T) {
	kerneltest.Run(t, newContractHarness)
}
