package main

import "github.com/mobsim/mobsim/internal/procfs"

// procFDs counts pid's open descriptors (Linux; elsewhere an error, and the
// report says the figure is unavailable).
func procFDs(pid int) (int, error) {
	fds, err := procfs.FDs(pid)
	return len(fds), err
}
