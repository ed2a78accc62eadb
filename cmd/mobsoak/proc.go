package main

import (
	"fmt"
	"syscall"

	"github.com/mobsim/mobsim/internal/procfs"
)

// procFDs counts pid's open descriptors (Linux; elsewhere an error, and the
// report says the figure is unavailable).
func procFDs(pid int) (int, error) {
	fds, err := procfs.FDs(pid)
	return len(fds), err
}

// raiseNOFILE raises the soft descriptor limit to the hard one and returns
// the result. The child inherits it.
func raiseNOFILE() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, fmt.Errorf("setrlimit: %w", err)
		}
	}
	return uint64(lim.Cur), nil
}
