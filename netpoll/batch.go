//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package netpoll

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/mobsim/mobsim/kernel"
)

var _ kernel.BatchWriter = (*Poller)(nil)

// RingEntriesDefault is the io_uring submission queue size when
// Config.RingEntries is 0: a fan-out to a thousand members fits in one
// io_uring_enter. Each entry costs 64 bytes of submission queue, 32 of
// completion queue (twice as many entries) and 120 of the message header and
// iovecs the ring owns: about 216 KiB per Poller at the default.
const RingEntriesDefault = 1024

// RingEntriesMax is the largest Config.RingEntries: the kernel's own limit
// on a submission queue (IORING_MAX_ENTRIES).
const RingEntriesMax = 32768

// Config tunes a Poller made by NewConfig. The zero value is what New uses.
type Config struct {
	// NoIOUring makes WriteBatch use the writev loop even where io_uring
	// works: for tests of the fallback, and for an operator who would
	// rather not run io_uring.
	NoIOUring bool
	// RingEntries is the io_uring submission queue size in writes, and so
	// the most writes one io_uring_enter submits; a larger batch takes one
	// io_uring_enter per RingEntries writes. 0 means RingEntriesDefault;
	// otherwise 1 to RingEntriesMax, rounded up to a power of two by the
	// kernel.
	RingEntries int
}

// check rejects a Config that NewConfig cannot honour.
func (cfg Config) check() error {
	if cfg.RingEntries < 0 || cfg.RingEntries > RingEntriesMax {
		return fmt.Errorf("netpoll: Config.RingEntries %d out of range (0 for %d, or 1 to %d)",
			cfg.RingEntries, RingEntriesDefault, RingEntriesMax)
	}
	return nil
}

// ringEntries is the submission queue size cfg asks for.
func (cfg Config) ringEntries() uint32 {
	if cfg.RingEntries == 0 {
		return RingEntriesDefault
	}
	return uint32(cfg.RingEntries)
}

// BatchPath is how WriteBatch makes its writes.
type BatchPath uint8

const (
	// BatchWritev makes one Writev per write, one system call each: the
	// fallback, and the only path on systems other than Linux.
	BatchWritev BatchPath = iota
	// BatchIOUring submits the whole batch to an io_uring ring in one
	// io_uring_enter (one per Config.RingEntries writes).
	BatchIOUring
)

// LogValue is the path's name in every slog handler (the JSON handler
// would otherwise encode the number).
func (b BatchPath) LogValue() slog.Value { return slog.StringValue(b.String()) }

// String names the path for logs: "writev" or "io_uring".
func (b BatchPath) String() string {
	if b == BatchIOUring {
		return "io_uring"
	}
	return "writev"
}

// ErrIOUringOff is BatchPath's reason when Config.NoIOUring turned io_uring
// off.
var ErrIOUringOff = errors.New("netpoll: io_uring turned off by Config.NoIOUring")

// BatchStats counts WriteBatch's work since the Poller was made.
type BatchStats struct {
	Batches uint64 // WriteBatch calls
	Writes  uint64 // writes in them, empty ones included
	// Syscalls is the system calls they made: io_uring_enter calls on the
	// io_uring path, one sendmsg or writev per write with bytes on the
	// writev path (a retry after EINTR not counted).
	Syscalls uint64
}

// writeEach makes the writes of ws one after another with Writev: the
// definition of a batch, and the path where io_uring is not used.
func writeEach(ws []kernel.BatchWrite, st *BatchStats) {
	for i := range ws {
		w := &ws[i]
		w.N, w.Err = writeOne(w, st)
	}
}

// writeOne makes one write of a batch with Writev.
func writeOne(w *kernel.BatchWrite, st *BatchStats) (int, error) {
	c, ok := w.Stream.(*Conn)
	if !ok {
		return 0, errForeignStream(w.Stream)
	}
	for _, b := range w.Bufs {
		if len(b) > 0 {
			st.Syscalls++
			break
		}
	}
	return c.Writev(w.Bufs[:])
}

// errForeignStream is the error for a write to a stream that is not a
// *Conn of this package.
func errForeignStream(s kernel.Stream) error {
	return fmt.Errorf("netpoll: batch write: stream %T is not a netpoll connection", s)
}

// WriteBatch makes the writes of ws, and reports each in its N and Err, as
// kernel.BatchWriter says: as if each were a Writev on its stream, in
// order, without blocking. On Linux it submits them to an io_uring ring as
// SENDMSG requests with MSG_DONTWAIT|MSG_NOSIGNAL, one io_uring_enter per
// batch (per Config.RingEntries writes), where the writev loop makes one
// system call per write; BatchPath says which it does. It does not
// allocate, except for the error of a failed write. A stream that is not a
// *Conn fails its own write. Like Poll, it is called from one goroutine.
func (p *Poller) WriteBatch(ws []kernel.BatchWrite) {
	p.batch.stats.Batches++
	p.batch.stats.Writes += uint64(len(ws))
	p.batch.write(ws)
}

// BatchPath reports how WriteBatch makes its writes, and why not through
// io_uring when it does not: Config.NoIOUring (ErrIOUringOff), the
// kernel's refusal (an error wrapping io_uring_setup's errno: ENOSYS,
// EPERM, ...), a kernel whose io_uring would wait on a full socket, or
// another system than Linux. It is decided when the Poller is made, for
// the caller to log, and changes only if the ring later fails (the reason
// then wraps io_uring_enter's errno) or the Poller is closed.
func (p *Poller) BatchPath() (BatchPath, error) { return p.batch.path() }

// BatchStats returns WriteBatch's counters. Like WriteBatch, it is called
// from the event loop's goroutine.
func (p *Poller) BatchStats() BatchStats { return p.batch.stats }
