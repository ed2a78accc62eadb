package child

import (
	"fmt"
	"syscall"
)

// RaiseNOFILE raises the soft descriptor limit to the hard one and returns
// it. Children started afterwards inherit it: Go raises its own soft
// limit at start-up, but hands children the original one unless the
// program sets the limit itself, as this does.
func RaiseNOFILE() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("getrlimit: %w", err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("setrlimit: %w", err)
	}
	return uint64(lim.Cur), nil
}
