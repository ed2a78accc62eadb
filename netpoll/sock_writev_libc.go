//go:build darwin || openbsd

package netpoll

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// sendv writes the iovecs one write(2) at a time, stopping at the first
// short write or error (an error after some bytes were written becomes a
// short write). On these systems system calls go through libc: a raw
// SYS_WRITEV is deprecated on darwin and fails with ENOSYS on OpenBSD 7.5
// and later, and x/sys/unix exports no writev, so a loop of writes is the
// allocation-free option. It costs a system call per buffer, not per batch.
func sendv(fd int, iov []unix.Iovec) (int, error) {
	total := 0
	for i := range iov {
		p := unsafe.Slice(iov[i].Base, int(iov[i].Len))
		n, err := unix.Write(fd, p)
		if err != nil {
			if total > 0 {
				return total, nil
			}
			return 0, err
		}
		total += n
		if n < len(p) {
			break
		}
	}
	return total, nil
}
