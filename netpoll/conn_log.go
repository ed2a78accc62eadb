//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package netpoll

import (
	"log/slog"
)

// LogValue makes a connection a group in structured logs, with the peer
// address and the descriptor under their own keys: conn.peer=… conn.fd=7
// in text, "conn":{"peer":"…","fd":7} in JSON, so that a log query can
// select on either (String's "peer=… fd=7" is one opaque value).
func (c *Conn) LogValue() slog.Value {
	return slog.GroupValue(slog.String("peer", c.peer.String()), slog.Int("fd", c.fd))
}
