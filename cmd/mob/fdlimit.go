package main

import (
	"log/slog"

	"golang.org/x/sys/unix"
)

// fdReserve counts the descriptors the process holds besides its
// connections: stdin, stdout and stderr, the poller and its wake-up
// descriptor, the listener, the Go runtime's own poller and its wake-up,
// the debug server's listener and a few scrapes. A -conns-max that does
// not leave them room cannot be reached.
const fdReserve = 16

// fdLimitWarning says why connsMax cannot be reached under a descriptor
// limit (RLIMIT_NOFILE's soft value, which Go raises to the hard one at
// start), or "" if it can.
func fdLimitWarning(connsMax int, limit uint64) string {
	if uint64(connsMax)+fdReserve <= limit {
		return ""
	}
	return "-conns-max exceeds what the descriptor limit allows: past it, accepts fail with EMFILE and new clients wait in the backlog while accepting pauses; raise the limit (ulimit -n, systemd LimitNOFILE=) or lower -conns-max"
}

// warnFDLimit logs fdLimitWarning for this process.
func warnFDLimit(connsMax int, log *slog.Logger) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		log.Debug("getrlimit RLIMIT_NOFILE", "err", err)
		return
	}
	limit := uint64(rl.Cur)
	if msg := fdLimitWarning(connsMax, limit); msg != "" {
		log.Warn(msg, "conns_max", connsMax, "rlimit_nofile", limit, "fds_reserved", fdReserve)
	}
}
