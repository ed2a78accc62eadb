//go:build darwin || netbsd || openbsd

package netpoll

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// acceptSocket accepts and then makes the socket close-on-exec and
// non-blocking: x/sys/unix has no accept4 for these systems. The accept and
// FD_CLOEXEC happen under syscall.ForkLock so that a concurrent fork+exec
// cannot inherit the descriptor in between. (SO_NOSIGPIPE is set by
// prepareConn.)
func acceptSocket(fd int) (int, unix.Sockaddr, error) {
	syscall.ForkLock.RLock()
	nfd, sa, err := unix.Accept(fd)
	if err == nil {
		unix.CloseOnExec(nfd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, nil, err
	}
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return -1, nil, err
	}
	return nfd, sa, nil
}
