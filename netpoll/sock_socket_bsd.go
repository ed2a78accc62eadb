//go:build freebsd || netbsd || openbsd || dragonfly

package netpoll

import "golang.org/x/sys/unix"

// newSocket creates a TCP socket that is non-blocking and close-on-exec
// from birth (no window for a concurrent fork to inherit it).
func newSocket(family int) (int, error) {
	return unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
}
