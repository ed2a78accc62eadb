//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package netpoll_test

import (
	"testing"

	"github.com/mobsim/mobsim/kerneltest"
)

// The seam's contract suite on the kqueue backend, over loopback TCP. With
// TestKqueueReady (and TestWritevLibcSplitsWithoutAllocating on darwin and
// OpenBSD) it is what netpoll tests on macOS and the BSDs, the other tests
// being Linux's:
//
//	go test -count=1 -v ./netpoll
func TestKernelContractKqueue(t *testing.T) {
	kerneltest.Run(t, newContractHarness)
}
