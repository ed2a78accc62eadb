//go:build freebsd || netbsd || dragonfly

package netpoll

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// sendv is writev(2). x/sys/unix exports no writev here, hence the raw
// call; it does not allocate.
func sendv(fd int, iov []unix.Iovec) (int, error) {
	n, _, errno := unix.Syscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
