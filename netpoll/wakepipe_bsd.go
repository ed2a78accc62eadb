//go:build freebsd || netbsd || openbsd || dragonfly

package netpoll

import "golang.org/x/sys/unix"

// wakePipe creates the poller's wake-up pipe, non-blocking and
// close-on-exec from birth with pipe2.
func wakePipe() (r, w int, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return -1, -1, err
	}
	return p[0], p[1], nil
}
