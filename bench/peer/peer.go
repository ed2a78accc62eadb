package peer

import (
	"fmt"
	"net"

	"github.com/mobsim/mobsim/server"
)

// Impls lists the implementations Start knows, in table order.
var Impls = []string{"mob", "mob-writev", "goroutine", "gnet", "gnet-batch", "gnet-mc"}

// Config is what every peer is built from.
type Config struct {
	Addr          string // listen address, "127.0.0.1:0" by default
	Framing       server.Framing
	FrameBytesMax int // largest frame body
	QueueBytesMax int // bytes one connection may be owed before it is cut
	ConnsMax      int // mob only: its connection limit
}

// DefaultConfig matches the mob server's defaults, with room for the idle
// scenario's connections and no idle timeout.
func DefaultConfig() Config {
	return Config{
		Addr:          "127.0.0.1:0",
		Framing:       server.FramingMob,
		FrameBytesMax: 64 << 10,
		QueueBytesMax: 1 << 20,
		ConnsMax:      60_000,
	}
}

// Stats are a peer's counters. Safe to read from any goroutine via
// Peer.Stats.
type Stats struct {
	Conns      int    // open connections now
	FramesIn   uint64 // complete frames read
	Deliveries uint64 // frames queued to members (frames × members)
	WriteCalls uint64 // application-level write calls
	ReadCalls  uint64 // application-level read calls (gnet: OnTraffic calls)
	// WriteSyscalls counts the system calls the writes took where the
	// server knows it (mob: io_uring_enter for a batch, one sendmsg per
	// write otherwise); 0 means as many as WriteCalls.
	WriteSyscalls uint64
	Ticks         uint64 // event-loop iterations (mob's Stats.Ticks); 0 if the server has none
	Closed        uint64 // connections closed, any reason
	CutSlow       uint64 // connections closed for exceeding QueueBytesMax
}

// Peer is a running server.
type Peer interface {
	Addr() net.Addr
	Stats() Stats
	// Close stops the server, closes every connection and waits for its
	// goroutines to end.
	Close() error
}

// Start runs the named implementation.
func Start(impl string, cfg Config) (Peer, error) {
	if cfg.Addr == "" {
		cfg.Addr = DefaultConfig().Addr
	}
	switch impl {
	case "mob":
		return startMob(cfg, false)
	case "mob-writev":
		return startMob(cfg, true)
	case "goroutine":
		return startGoroutine(cfg)
	case "gnet":
		return startGnet(cfg, gnetDirect)
	case "gnet-batch":
		return startGnet(cfg, gnetBatch)
	case "gnet-mc":
		return startGnet(cfg, gnetAsync)
	}
	return nil, fmt.Errorf("unknown implementation %q (want one of %v)", impl, Impls)
}

// completePrefix returns how many bytes at the start of b form complete
// frames, and how many frames that is. An error means b can never be framed.
func completePrefix(f server.Framing, b []byte, bodyMax int) (n, frames int, err error) {
	for {
		k, err := f.Scan(b[n:], bodyMax)
		if err != nil {
			return n, frames, err
		}
		if k == 0 {
			return n, frames, nil
		}
		n += k
		frames++
	}
}

// ProcStats is what cmd/peer reports for the "stats" command: the peer's
// counters and the process's allocation figures.
type ProcStats struct {
	Stats
	Mallocs    uint64 // runtime.MemStats.Mallocs: heap objects allocated, ever
	HeapInuse  uint64
	Goroutines int
}
