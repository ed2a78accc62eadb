package wire

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// Dial's options reach the socket: the buffer sizes (Linux doubles what is
// asked), the source address, and the deadline.
func TestDialOptions(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	src := net.IPv4(127, 0, 0, 2)
	c, err := Dial(ln.Addr().String(), DialOptions{
		RcvBufBytes: 8192, SndBufBytes: 16384, Source: src,
		Timeout: 5 * time.Second, Deadline: time.Now().Add(50 * time.Millisecond),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ip := c.LocalAddr().(*net.TCPAddr).IP; !ip.Equal(src) {
		t.Errorf("local address %v, want %v", ip, src)
	}
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var rcv, snd int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		rcv, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		if gerr == nil {
			snd, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
		}
	}); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	if rcv != 2*8192 || snd != 2*16384 {
		t.Errorf("SO_RCVBUF %d, SO_SNDBUF %d; want %d and %d (twice what was asked)", rcv, snd, 2*8192, 2*16384)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read past the deadline: %v, want a deadline error", err)
	}
}
