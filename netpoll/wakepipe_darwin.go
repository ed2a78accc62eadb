package netpoll

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// wakePipe creates the poller's wake-up pipe. darwin has no pipe2, so the
// flags are set after, close-on-exec under syscall.ForkLock so that a
// concurrent fork+exec cannot inherit the descriptors in between.
func wakePipe() (r, w int, err error) {
	var p [2]int
	syscall.ForkLock.RLock()
	err = unix.Pipe(p[:])
	if err == nil {
		unix.CloseOnExec(p[0])
		unix.CloseOnExec(p[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, -1, err
	}
	for _, fd := range p {
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(p[0])
			unix.Close(p[1])
			return -1, -1, fmt.Errorf("set non-blocking: %w", err)
		}
	}
	return p[0], p[1], nil
}
