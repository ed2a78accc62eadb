//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package netpoll_test

import (
	"testing"

	"github.com/mobsim/mobsim/kerneltest"
)

// The seam's contract suite on the kqueue backend, over loopback TCP. With
// TestKqueueReady it is what netpoll tests on macOS and the BSDs:
//
//	go test -count=1 -v -run 'TestKernelContractKqueue|TestKqueueReady' ./netpoll
func TestKernelContractKqueue(t *testing.T) {
	kerneltest.Run(t, newContractHarness)
}
