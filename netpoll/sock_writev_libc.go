//go:build darwin || openbsd

package netpoll

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// libcIovecsMax is how many buffers x/sys/unix's Writev keeps in an iovec
// array on its stack (its minIovec); it allocates for more.
const libcIovecsMax = 8

// sendv is writev(2) through x/sys/unix's Writev, which calls libc: system
// calls go through libc here (a raw SYS_WRITEV is deprecated on darwin and
// fails with ENOSYS on OpenBSD 7.5 and later). To stay allocation-free it
// passes at most libcIovecsMax buffers per call: one call for up to 8
// buffers, a second only when the first wrote everything. An error after
// some bytes were written becomes a short write; the next write reports it.
func sendv(fd int, iov []unix.Iovec) (int, error) {
	var bufs [libcIovecsMax][]byte
	total := 0
	for len(iov) > 0 {
		k, want := min(len(iov), len(bufs)), 0
		for i := range k {
			bufs[i] = unsafe.Slice(iov[i].Base, int(iov[i].Len))
			want += len(bufs[i])
		}
		n, err := unix.Writev(fd, bufs[:k])
		if err != nil {
			if total > 0 {
				return total, nil
			}
			return 0, err
		}
		total += n
		if n < want {
			break
		}
		iov = iov[k:]
	}
	return total, nil
}
