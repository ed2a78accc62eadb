//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package netpoll

import (
	"fmt"
	"io"
	"net"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"golang.org/x/sys/unix"
)

// dialTimeoutDefault bounds Dial, so a test or load tool never hangs on a
// connect whose SYN is dropped (a full backlog retries for minutes).
const dialTimeoutDefault = 30 * time.Second

// Conn is a non-blocking, close-on-exec connected TCP socket.
type Conn struct {
	fd   int
	peer *net.TCPAddr
}

func newConn(fd int, peer *net.TCPAddr) *Conn {
	return &Conn{fd: fd, peer: peer}
}

// Dial connects to addr and returns the connection, non-blocking from then
// on. It waits up to 30 seconds for the connect; use DialTimeout to choose.
func Dial(network, addr string) (*Conn, error) {
	return DialTimeout(network, addr, dialTimeoutDefault)
}

// DialTimeout is Dial with a bound on the connect; timeout <= 0 means no
// bound, as in net.DialTimeout.
func DialTimeout(network, addr string, timeout time.Duration) (*Conn, error) {
	fd, sa, err := openSocket("dial", network, addr)
	if err != nil {
		return nil, err
	}
	if err := connect(fd, sa, timeout); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netpoll: dial %s: %w", addr, err)
	}
	peer, err := unix.Getpeername(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netpoll: dial %s: getpeername: %w", addr, err)
	}
	prepareConn(fd)
	return newConn(fd, tcpAddr(peer)), nil
}

// connect starts a non-blocking connect and waits for it. An EINTR leaves
// the connect running in the kernel, so it is waited for like EINPROGRESS.
func connect(fd int, sa unix.Sockaddr, timeout time.Duration) error {
	err := unix.Connect(fd, sa)
	switch err {
	case nil:
		return nil
	case unix.EINPROGRESS, unix.EINTR, unix.EALREADY:
	default:
		return fmt.Errorf("connect: %w", err)
	}
	ms := -1
	if timeout > 0 {
		ms = int(min(timeout, pollTimeoutMax) / time.Millisecond)
	}
	if err := waitConnected(fd, ms); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	return nil
}

// Read reads into p. It returns kernel.ErrWouldBlock when no data is
// buffered, (0, io.EOF) once the peer's FIN is reached, and a wrapped
// errno (ECONNRESET after a reset) on failure. EINTR is retried.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := unix.Read(c.fd, p)
		switch err {
		case nil:
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, kernel.ErrWouldBlock
		}
		return 0, fmt.Errorf("netpoll: read %v: %w", c, err)
	}
}

// Write writes from p with one system call and never raises SIGPIPE. It
// may write less than len(p); it returns kernel.ErrWouldBlock only when
// nothing was written, and EPIPE or ECONNRESET (wrapped) after the peer has
// closed or reset the connection. A zero-length p makes no system call and
// returns 0, nil, so a pending error stays pending (kernel.Stream).
func (c *Conn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := send(c.fd, p)
		switch err {
		case nil:
			return n, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, kernel.ErrWouldBlock
		}
		return 0, fmt.Errorf("netpoll: write %v: %w", c, err)
	}
}

// Writev writes the buffers in order with one system call (sendmsg or
// writev). It does not allocate: the iovec array lives on its stack, which
// is why only the first kernel.WritevBufsMax non-empty buffers are passed
// to the kernel; the rest make a short write on a socket that may still be
// writable, with no writable event to follow (kernel.VectorWriter). No
// bytes in all makes no system call, as for Write. Errors are as for Write.
func (c *Conn) Writev(bufs [][]byte) (int, error) {
	var iov [kernel.WritevBufsMax]unix.Iovec
	k := 0
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		if k == len(iov) {
			break
		}
		iov[k].Base = &b[0]
		iov[k].SetLen(len(b))
		k++
	}
	if k == 0 {
		return 0, nil
	}
	for {
		n, err := sendv(c.fd, iov[:k])
		switch err {
		case nil:
			return n, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, kernel.ErrWouldBlock
		}
		return 0, fmt.Errorf("netpoll: writev %v: %w", c, err)
	}
}

// CloseWrite sends a FIN (shutdown SHUT_WR); reading stays possible.
func (c *Conn) CloseWrite() error {
	if err := unix.Shutdown(c.fd, unix.SHUT_WR); err != nil {
		return fmt.Errorf("netpoll: shutdown write %v: %w", c, err)
	}
	return nil
}

// Close closes the socket, which also removes its registration. A second
// Close returns an error and never closes another descriptor.
func (c *Conn) Close() error {
	if c.fd < 0 {
		return fmt.Errorf("netpoll: close %v: %w", c, net.ErrClosed)
	}
	fd := c.fd
	c.fd = -1
	if err := unix.Close(fd); err != nil {
		return fmt.Errorf("netpoll: close peer=%v fd=%d: %w", c.peer, fd, err)
	}
	return nil
}

var _ kernel.Aborter = (*Conn)(nil)

// Abort closes the socket with SO_LINGER {on, 0 s}, which makes the kernel
// send an RST instead of a FIN, drop unsent and unacknowledged data and
// free the socket at once (no orphan holding its send buffer).
func (c *Conn) Abort() error {
	if c.fd < 0 {
		return fmt.Errorf("netpoll: abort %v: %w", c, net.ErrClosed)
	}
	if err := unix.SetsockoptLinger(c.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
		return fmt.Errorf("netpoll: abort %v: setsockopt SO_LINGER: %w", c, err)
	}
	return c.Close()
}

// SetBuffers sets SO_RCVBUF and SO_SNDBUF; 0 leaves a size alone.
func (c *Conn) SetBuffers(recvBytes, sendBytes int) error {
	return setBuffers(c.fd, recvBytes, sendBytes)
}

// FD returns the socket's descriptor, or -1 once closed.
func (c *Conn) FD() int { return c.fd }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.peer }

// String names the connection in logs: "peer=127.0.0.1:5555 fd=7".
func (c *Conn) String() string {
	return fmt.Sprintf("peer=%v fd=%d", c.peer, c.fd)
}
