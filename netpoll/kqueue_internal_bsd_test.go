//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package netpoll

import (
	"testing"

	"github.com/mobsim/mobsim/kernel"
	"golang.org/x/sys/unix"
)

// Each kevent maps to the readiness bits the seam documents; in particular
// EV_EOF with a socket error in fflags is ReadyError on the write filter as
// on the read filter (FreeBSD's filt_sowrite reports a reset so), and
// EV_ERROR, which only a failed change sets, means nothing in a batch.
func TestKqueueReady(t *testing.T) {
	reset := uint32(unix.ECONNRESET)
	cases := []struct {
		name   string
		filter int
		flags  int
		fflags uint32
		want   kernel.Ready
	}{
		{"read", unix.EVFILT_READ, 0, 0, kernel.ReadyRead},
		{"read FIN", unix.EVFILT_READ, unix.EV_EOF, 0, kernel.ReadyRead | kernel.ReadyReadClosed},
		{"read reset", unix.EVFILT_READ, unix.EV_EOF, reset, kernel.ReadyRead | kernel.ReadyReadClosed | kernel.ReadyError},
		{"write", unix.EVFILT_WRITE, 0, 0, kernel.ReadyWrite},
		{"write closed", unix.EVFILT_WRITE, unix.EV_EOF, 0, kernel.ReadyWrite | kernel.ReadyWriteClosed},
		{"write reset", unix.EVFILT_WRITE, unix.EV_EOF, reset, kernel.ReadyWrite | kernel.ReadyWriteClosed | kernel.ReadyError},
		{"fflags without EV_EOF", unix.EVFILT_READ, 0, reset, kernel.ReadyRead},
		{"EV_ERROR", unix.EVFILT_READ, unix.EV_ERROR, 0, kernel.ReadyRead},
	}
	for _, c := range cases {
		var ev unix.Kevent_t
		unix.SetKevent(&ev, 7, c.filter, c.flags)
		ev.Fflags = c.fflags
		if got := kqueueReady(&ev); got != c.want {
			t.Errorf("%s: kqueueReady = %v, want %v", c.name, got, c.want)
		}
	}
}
