package netfake_test

import (
	"slices"
	"syscall"
	"testing"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
)

// TestFDRecyclingLowestFirst checks Unix fd allocation: fds start at 3 and
// a new fd is always the lowest free one.
func TestFDRecyclingLowestFirst(t *testing.T) {
	k := newKernel(1, netfake.Config{})
	l, _ := k.Listen(16)
	if l.FD() != 3 {
		t.Fatalf("listener fd %d, want 3", l.FD())
	}
	var ss []*netfake.Socket
	for i := 0; i < 4; i++ {
		_, s := connectAccept(t, k, l)
		ss = append(ss, s)
	}
	if got := k.FDs(nil); !slices.Equal(got, []int{3, 4, 5, 6, 7}) {
		t.Fatalf("fds %v", got)
	}
	_ = ss[2].Close() // fd 6
	_ = ss[0].Close() // fd 4
	var got []int
	for i := 0; i < 3; i++ {
		_, s := connectAccept(t, k, l)
		got = append(got, s.FD())
	}
	if !slices.Equal(got, []int{4, 6, 8}) {
		t.Fatalf("reused fds %v, want [4 6 8]", got)
	}
}

// TestEMFILELeavesBacklog checks the fd limit: at FDMax, Accept fails with
// EMFILE (even with an empty queue, as Linux allocates the fd first) and
// the pending connections stay queued until an fd is freed.
func TestEMFILELeavesBacklog(t *testing.T) {
	k := newKernel(2, netfake.Config{FDMax: 2})
	l, _ := k.Listen(8)
	_, s := connectAccept(t, k, l)
	for i := 0; i < 2; i++ {
		if _, err := k.Connect(l); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		if _, err := l.Accept(); !isErrno(err, syscall.EMFILE) {
			t.Fatalf("accept at the limit: %v, want EMFILE", err)
		}
	}
	if l.Pending() != 2 {
		t.Fatalf("pending %d after EMFILE, want 2", l.Pending())
	}
	if _, err := k.Listen(1); !isErrno(err, syscall.EMFILE) {
		t.Fatalf("listen at the limit: %v", err)
	}
	_ = s.Close()
	if _, err := l.Accept(); err != nil {
		t.Fatalf("accept after close: %v", err)
	}
	if l.Pending() != 1 {
		t.Fatalf("pending %d, want 1", l.Pending())
	}
}

// TestListenerCloseResetsBacklog checks that closing a listener resets the
// connections still queued, and that clients see the reset.
func TestListenerCloseResetsBacklog(t *testing.T) {
	k := newKernel(4, netfake.Config{})
	l, _ := k.Listen(4)
	c, _ := k.Connect(l)
	_ = l.Close()
	k.Flush()
	if _, err := c.Read(make([]byte, 1)); !isErrno(err, syscall.ECONNRESET) {
		t.Fatalf("client of a closed listener: %v, want ECONNRESET", err)
	}
	if _, err := k.Connect(l); !isErrno(err, syscall.ECONNREFUSED) {
		t.Fatalf("connect to a closed listener: %v", err)
	}
	if _, err := l.Accept(); !isErrno(err, syscall.EBADF) {
		t.Fatalf("accept on a closed listener: %v", err)
	}
	_ = c.Close()
	k.Step()
	if k.OpenFDs() != 0 || k.LiveConns() != 0 {
		t.Fatalf("after both closes: %d fds, %d live connections", k.OpenFDs(), k.LiveConns())
	}
}

// TestDataBeforeAccept checks that a client can write before the server
// accepts, as with TCP, and the server reads it after accepting.
func TestDataBeforeAccept(t *testing.T) {
	k := newKernel(5, netfake.Config{})
	l, _ := k.Listen(4)
	c, _ := k.Connect(l)
	_, _ = c.Write([]byte("early"))
	_ = c.ShutdownWrite()
	k.Flush()
	st, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(st)
	if string(got) != "early" || err == nil || err == kernel.ErrWouldBlock {
		t.Fatalf("read %q, %v; want the early data then EOF", got, err)
	}
}
