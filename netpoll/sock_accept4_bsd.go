//go:build freebsd || dragonfly

package netpoll

import "golang.org/x/sys/unix"

// acceptSocket accepts with accept4, so the new socket is non-blocking and
// close-on-exec atomically. (SO_NOSIGPIPE is set by prepareConn.)
func acceptSocket(fd int) (int, unix.Sockaddr, error) {
	return unix.Accept4(fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
}
