//go:build linux

package netpoll

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// newSocket creates a TCP socket that is non-blocking and close-on-exec
// from birth (no window for a concurrent fork to inherit it).
func newSocket(family int) (int, error) {
	return unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
}

// acceptSocket accepts with accept4, so the new socket is non-blocking and
// close-on-exec atomically.
func acceptSocket(fd int) (int, unix.Sockaddr, error) {
	return unix.Accept4(fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
}

// setNoSigpipe does nothing on Linux: every send passes MSG_NOSIGNAL.
func setNoSigpipe(int) error { return nil }

// send is send(2) with MSG_NOSIGNAL, so writing to a closed or reset
// connection returns EPIPE instead of raising SIGPIPE. x/sys/unix has no
// send that returns a count, hence the raw call; it does not allocate.
func send(fd int, p []byte) (int, error) {
	n, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)),
		unix.MSG_NOSIGNAL, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// sendv is sendmsg(2) with MSG_NOSIGNAL over iov, which is writev with the
// send flags. The Msghdr lives on the stack and the call is raw, so it does
// not allocate (unix.SendmsgBuffers would).
func sendv(fd int, iov []unix.Iovec) (int, error) {
	var msg unix.Msghdr
	msg.Iov = &iov[0]
	msg.SetIovlen(len(iov))
	n, _, errno := unix.Syscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_NOSIGNAL)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
