//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package netpoll

import (
	"fmt"
	"net"
	"strconv"

	"golang.org/x/sys/unix"
)

// openSocket resolves addr for network and opens a non-blocking,
// close-on-exec socket of the right family for it: the common start of Dial
// and Listen. op names the caller in errors.
func openSocket(op, network, addr string) (int, unix.Sockaddr, error) {
	a, family, err := resolve(network, addr)
	if err != nil {
		return -1, nil, err
	}
	sa, err := sockaddr(a, family)
	if err != nil {
		return -1, nil, err
	}
	fd, err := newSocket(family)
	if err != nil {
		return -1, nil, fmt.Errorf("netpoll: %s %s: socket: %w", op, addr, err)
	}
	return fd, sa, nil
}

// resolve parses addr for network ("tcp", "tcp4" or "tcp6") and picks the
// address family. "tcp" with no host (":0") means IPv4's any address.
func resolve(network, addr string) (*net.TCPAddr, int, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, 0, fmt.Errorf("netpoll: unsupported network %q", network)
	}
	a, err := net.ResolveTCPAddr(network, addr)
	if err != nil {
		return nil, 0, fmt.Errorf("netpoll: resolve %s %s: %w", network, addr, err)
	}
	family := unix.AF_INET6
	switch {
	case network == "tcp4":
		family = unix.AF_INET
	case network == "tcp6":
	case a.IP == nil || a.IP.To4() != nil:
		family = unix.AF_INET
	}
	return a, family, nil
}

// sockaddr builds the socket address for a in the given family.
func sockaddr(a *net.TCPAddr, family int) (unix.Sockaddr, error) {
	if family == unix.AF_INET {
		sa := &unix.SockaddrInet4{Port: a.Port}
		if a.IP != nil {
			ip4 := a.IP.To4()
			if ip4 == nil {
				return nil, fmt.Errorf("netpoll: %v is not an IPv4 address", a.IP)
			}
			copy(sa.Addr[:], ip4)
		}
		return sa, nil
	}
	sa := &unix.SockaddrInet6{Port: a.Port}
	if a.IP != nil {
		copy(sa.Addr[:], a.IP.To16())
	}
	if a.Zone != "" {
		id, err := zoneID(a.Zone)
		if err != nil {
			return nil, err
		}
		sa.ZoneId = id
	}
	return sa, nil
}

// zoneID turns an IPv6 zone ("eth0" or "2") into an interface index.
func zoneID(zone string) (uint32, error) {
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(n), nil
	}
	ifi, err := net.InterfaceByName(zone)
	if err != nil {
		return 0, fmt.Errorf("netpoll: IPv6 zone %q: %w", zone, err)
	}
	return uint32(ifi.Index), nil
}

// tcpAddr converts a socket address from the kernel to a *net.TCPAddr.
func tcpAddr(sa unix.Sockaddr) *net.TCPAddr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(append([]byte(nil), sa.Addr[:]...)), Port: sa.Port}
	case *unix.SockaddrInet6:
		a := &net.TCPAddr{IP: net.IP(append([]byte(nil), sa.Addr[:]...)), Port: sa.Port}
		if sa.ZoneId != 0 {
			a.Zone = strconv.FormatUint(uint64(sa.ZoneId), 10)
		}
		return a
	}
	return &net.TCPAddr{}
}

// setBuffers sets SO_RCVBUF and SO_SNDBUF; 0 leaves a size alone. Linux
// doubles the value given (for its bookkeeping) and enforces a minimum.
func setBuffers(fd, recvBytes, sendBytes int) error {
	if recvBytes > 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, recvBytes); err != nil {
			return fmt.Errorf("netpoll: setsockopt SO_RCVBUF=%d fd=%d: %w", recvBytes, fd, err)
		}
	}
	if sendBytes > 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, sendBytes); err != nil {
			return fmt.Errorf("netpoll: setsockopt SO_SNDBUF=%d fd=%d: %w", sendBytes, fd, err)
		}
	}
	return nil
}

// prepareConn readies a connected socket for the event loop. TCP_NODELAY,
// as Go's net package sets it: the server coalesces output itself, and
// Nagle would hold back the next small frame for an ACK. Both options are
// best effort: they fail only on a socket the peer has already reset, and
// the next Read or Write reports that.
func prepareConn(fd int) {
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	_ = setNoSigpipe(fd)
}

// waitConnected waits, up to timeoutMs (-1: no limit), for a non-blocking
// connect in progress to finish, and returns its result (SO_ERROR).
func waitConnected(fd, timeoutMs int) error {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		n, err := unix.Poll(fds, timeoutMs)
		if err == unix.EINTR {
			continue // Dial's bound is approximate; a retry restarts it.
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return unix.ETIMEDOUT
		}
		break
	}
	soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return err
	}
	if soerr != 0 {
		return unix.Errno(soerr)
	}
	return nil
}
