//go:build darwin || freebsd || netbsd || dragonfly

package netpoll

import "golang.org/x/sys/unix"

// setNoSigpipe sets SO_NOSIGPIPE, so writing to a closed or reset
// connection returns EPIPE instead of raising SIGPIPE.
func setNoSigpipe(fd int) error {
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_NOSIGPIPE, 1)
}
