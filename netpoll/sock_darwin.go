package netpoll

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// newSocket creates a non-blocking, close-on-exec TCP socket. darwin's
// socket(2) takes no SOCK_NONBLOCK or SOCK_CLOEXEC, so the flags are set
// after, under syscall.ForkLock so that a concurrent fork+exec (os/exec
// takes the lock for writing) cannot inherit the descriptor in between.
func newSocket(family int) (int, error) {
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(family, unix.SOCK_STREAM, unix.IPPROTO_TCP)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
