//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package netpoll

import (
	"fmt"
	"net"

	"github.com/mobsim/mobsim/kernel"
	"golang.org/x/sys/unix"
)

// listenBacklogDefault is the listen(2) backlog when ListenConfig.Backlog is
// 0. The kernel clamps it to its own limit (net.core.somaxconn on Linux,
// kern.ipc.somaxconn on the BSDs), so asking high costs nothing.
const listenBacklogDefault = 4096

// ListenConfig tunes a listening socket.
type ListenConfig struct {
	Backlog      int // listen(2) backlog; 0 means listenBacklogDefault
	RecvBufBytes int // SO_RCVBUF for the listener (inherited by accepted sockets); 0 = kernel default
	SendBufBytes int // SO_SNDBUF likewise
}

// Listener is a non-blocking, close-on-exec listening TCP socket.
type Listener struct {
	fd   int
	addr *net.TCPAddr
}

// Listen opens a listening socket on addr ("127.0.0.1:0", "[::1]:0") for
// network "tcp", "tcp4" or "tcp6", with SO_REUSEADDR so a restarted server
// can bind while old connections sit in TIME_WAIT. "tcp6" sets IPV6_V6ONLY.
func Listen(network, addr string, cfg ListenConfig) (*Listener, error) {
	fd, sa, err := openSocket("listen", network, addr)
	if err != nil {
		return nil, err
	}
	if err := listenOn(fd, network, sa, cfg); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netpoll: listen %s: %w", addr, err)
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netpoll: listen %s: getsockname: %w", addr, err)
	}
	return &Listener{fd: fd, addr: tcpAddr(bound)}, nil
}

// listenOn sets the listener's options, binds and listens. Buffer sizes are
// set before listen so that accepted sockets inherit them, and before the
// handshake fixes the TCP window scale.
func listenOn(fd int, network string, sa unix.Sockaddr, cfg ListenConfig) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fmt.Errorf("setsockopt SO_REUSEADDR: %w", err)
	}
	if network == "tcp6" {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			return fmt.Errorf("setsockopt IPV6_V6ONLY: %w", err)
		}
	}
	if err := setBuffers(fd, cfg.RecvBufBytes, cfg.SendBufBytes); err != nil {
		return err
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	backlog := cfg.Backlog
	if backlog <= 0 {
		backlog = listenBacklogDefault
	}
	if err := unix.Listen(fd, backlog); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return nil
}

// Accept returns the next pending connection as a non-blocking,
// close-on-exec *Conn, or kernel.ErrWouldBlock when the backlog is empty.
// EINTR is retried; other errors (EMFILE, ENFILE, ECONNABORTED, ENOBUFS)
// are wrapped, so errors.Is(err, syscall.EMFILE) works.
func (l *Listener) Accept() (kernel.Stream, error) {
	for {
		fd, sa, err := acceptSocket(l.fd)
		switch err {
		case nil:
			prepareConn(fd)
			return newConn(fd, tcpAddr(sa)), nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return nil, kernel.ErrWouldBlock
		}
		return nil, fmt.Errorf("netpoll: accept fd=%d: %w", l.fd, err)
	}
}

// Addr returns the bound address, with the port the kernel chose for port 0.
func (l *Listener) Addr() net.Addr { return l.addr }

// FD returns the listening descriptor, or -1 once closed.
func (l *Listener) FD() int { return l.fd }

// Close closes the listening socket, which also removes its registration.
// A second Close returns an error and never closes another descriptor.
func (l *Listener) Close() error {
	if l.fd < 0 {
		return fmt.Errorf("netpoll: close listener %v: %w", l.addr, net.ErrClosed)
	}
	fd := l.fd
	l.fd = -1
	if err := unix.Close(fd); err != nil {
		return fmt.Errorf("netpoll: close listener %v: %w", l.addr, err)
	}
	return nil
}
