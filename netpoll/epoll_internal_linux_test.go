package netpoll

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"golang.org/x/sys/unix"
)

// epoll_wait counts milliseconds: negative waits forever, zero does not
// wait, sub-millisecond waits round up (never a busy zero), and huge ones
// are capped to what an int32 of milliseconds holds.
func TestEpollTimeout(t *testing.T) {
	cases := []struct {
		in   time.Duration
		want int
	}{
		{-1, -1},
		{-time.Hour, -1},
		{0, 0},
		{1, 1},
		{999 * time.Microsecond, 1},
		{time.Millisecond, 1},
		{time.Millisecond + 1, 2},
		{1500 * time.Microsecond, 2},
		{time.Second, 1000},
		{1 << 62, 1<<31 - 1},
	}
	for _, c := range cases {
		if got := epollTimeout(c.in); got != c.want {
			t.Errorf("epollTimeout(%v) = %d, want %d", c.in, got, c.want)
		}
	}
}

// The token round-trips through the event's data, and sits where the
// kernel's u64 member has it: on a little-endian machine the low half is
// the Fd field.
func TestTokenPacking(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	values := []kernel.Token{0, 1, 1<<63 | 12345, ReservedToken, 0x1122334455667788}
	for range 1000 {
		values = append(values, kernel.Token(r.Uint64()))
	}
	for _, tok := range values {
		var ev unix.EpollEvent
		setToken(&ev, tok)
		if got := getToken(&ev); got != tok {
			t.Fatalf("token %#x came back as %#x", uint64(tok), uint64(got))
		}
	}
	var probe [2]byte
	binary.NativeEndian.PutUint16(probe[:], 1)
	if probe[0] == 1 {
		var ev unix.EpollEvent
		setToken(&ev, 0x1122334455667788)
		if uint32(ev.Fd) != 0x55667788 || uint32(ev.Pad) != 0x11223344 {
			t.Fatalf("little-endian layout: Fd=%#x Pad=%#x", uint32(ev.Fd), uint32(ev.Pad))
		}
	}
}

// Each epoll flag maps to the readiness bits the seam documents.
func TestEpollReady(t *testing.T) {
	cases := []struct {
		events uint32
		want   kernel.Ready
	}{
		{unix.EPOLLIN, kernel.ReadyRead},
		{unix.EPOLLOUT, kernel.ReadyWrite},
		{unix.EPOLLRDHUP, kernel.ReadyReadClosed},
		{unix.EPOLLHUP, kernel.ReadyReadClosed | kernel.ReadyWriteClosed},
		{unix.EPOLLERR, kernel.ReadyError},
		{unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP, kernel.ReadyRead | kernel.ReadyWrite | kernel.ReadyReadClosed},
		{0, 0},
	}
	for _, c := range cases {
		if got := epollReady(c.events); got != c.want {
			t.Errorf("epollReady(%#x) = %#x, want %#x", c.events, got, c.want)
		}
	}
}

// The interest flags always carry EPOLLET and EPOLLRDHUP.
func TestEpollFlags(t *testing.T) {
	base := uint32(unix.EPOLLET | unix.EPOLLRDHUP)
	cases := map[kernel.Interest]uint32{
		0:                    base,
		kernel.InterestRead:  base | unix.EPOLLIN,
		kernel.InterestWrite: base | unix.EPOLLOUT,
		kernel.InterestRead | kernel.InterestWrite: base | unix.EPOLLIN | unix.EPOLLOUT,
	}
	for in, want := range cases {
		if got := epollFlags(in); got != want {
			t.Errorf("epollFlags(%d) = %#x, want %#x", in, got, want)
		}
	}
}
