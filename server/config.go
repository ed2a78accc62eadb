package server

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/mobsim/mobsim/kernel"
)

// Config holds the server's limits. Every limit is explicit and named with
// its unit; the zero value of a field means "use the default" (see
// DefaultConfig), and a negative IdleTimeout, FrameTimeout or
// InputRateBytesPerSec disables that limit.
type Config struct {
	Framing Framing

	// FrameBytesMax is the largest frame body accepted, not counting the
	// newline or the 8-byte header. A longer frame is a protocol error for its
	// sender alone.
	FrameBytesMax int
	// QueueBytesMax bounds the broadcast bytes owed to one connection. A
	// connection that would fall further behind is closed (reason
	// queue-limit); the others lose nothing. It must hold at least one
	// largest frame. A leaving connection still owed output must keep up
	// too: if the others broadcast QueueBytesMax more before it has taken
	// what it is owed, it is closed for queue-limit as well (its bytes pin
	// the shared log).
	QueueBytesMax int
	// ConnsMax bounds open connections (members and those still leaving). A
	// connection accepted past it gets a one-line error and is closed.
	ConnsMax int
	// IdleTimeout makes a member that has sent no complete frame for this
	// long leave, told why in an "error: idle ..." frame (reason idle).
	// Bytes of a frame that never completes do not count. Negative
	// disables it.
	IdleTimeout time.Duration
	// InputBytesMax bounds, over all connections together, the memory
	// kept for frames still arriving: the capacity of the partial-frame
	// buffers, in bytes. A complete frame costs none (it is broadcast from
	// the read buffer). At the budget the connection holding the largest
	// buffer leaves, told why ("error: input budget ...", reason
	// input-budget). It must hold one largest frame.
	InputBytesMax int
	// FrameTimeout makes a member whose frame is not complete this long
	// after its first byte arrived leave, told why ("error: frame timeout
	// ...", reason frame-timeout), like net/http's ReadHeaderTimeout: a
	// slow frame holds its buffer no longer. Negative disables it.
	FrameTimeout time.Duration
	// InputRateBytesPerSec is the rate at which the server reads one
	// connection, in bytes per second on average, with InputBurstBytes
	// read at once after a pause. A sender over it is not read until it
	// is under it again: its data waits in its socket and its kernel's
	// flow control slows it down; nothing is dropped. So one flooder
	// cannot push every member slower than itself past QueueBytesMax.
	// Negative disables it.
	InputRateBytesPerSec int
	// InputBurstBytes is how much a connection that has been quiet (or
	// slow) may send at once before InputRateBytesPerSec holds it back.
	InputBurstBytes int
	// LingerTimeout bounds how long a leaving connection may take to read
	// what it is owed, and for its peer to acknowledge it or send its
	// FIN, before it is closed anyway. In a shutdown ShutdownTimeout
	// bounds every leaving connection instead: the time given for flushing
	// is the operator's, and a shorter linger must not cut into it.
	LingerTimeout time.Duration
	// LingerBytesMax bounds what a leaving connection that was sent its
	// error frame (a protocol error) may still send, read and dropped,
	// before it is cut without waiting (reason linger-bytes: a reset): a
	// client that ignores its error must not keep the server busy for
	// LingerTimeout. It also bounds a leaving connection's last drain
	// before its close (past the tick's read budget and the input rate); a
	// peer that acknowledged everything and sends more than this, then or
	// since it left, is cut the same way: it is owed nothing. A connection
	// still owed output is never cut for what it sends.
	LingerBytesMax int
	// ShutdownTimeout bounds graceful shutdown: after it, every connection is
	// closed whatever it is still owed.
	ShutdownTimeout time.Duration
	// AcceptBackoffMin and AcceptBackoffMax bound the pause after an accept
	// error that more accepting cannot fix (EMFILE, ENFILE, ENOBUFS, ENOMEM).
	// The pause doubles from min to max while the error persists.
	AcceptBackoffMin time.Duration
	AcceptBackoffMax time.Duration

	// Fairness budgets, per tick. Work left over is remembered by the server
	// (it does not rely on a new edge) and continued on the next tick. One
	// read is not cut by ReadBytesPerTickMax: the last drain of a leaving
	// connection closed at its linger or shutdown deadline, which must see
	// the peer's FIN or would-block (a close with input unread resets the
	// connection) and which LingerBytesMax bounds instead.
	EventsPerTickMax     int // events taken from one Poll
	AcceptsPerTickMax    int // connections accepted per tick
	ReadBytesPerTickMax  int // bytes read from one connection per tick
	WriteCallsPerTickMax int // write calls to one connection per tick
	ReadBufferBytes      int // size of the shared read buffer
	PartialKeepBytesMax  int // a partial-frame buffer larger than this is freed once empty

	// Logger receives connection-level events. Nil discards them.
	Logger *slog.Logger
	// Observer, if set, is told of membership changes as they happen. The
	// simulator's oracle uses it to check each claim against the kernel's
	// record; operators may use it for metrics.
	Observer Observer
}

// Observer is told, synchronously and on the server's goroutine, when a
// connection joins (becomes a member), leaves (stops receiving new frames;
// what it is owed is still flushed) and is closed. Leave and close carry the
// reason. A connection turned away at ConnsMax is only Closed.
//
// Frame reports each frame as it enters the global order: read from `from`,
// its bytes are head followed by tail (either may be empty), valid only
// during the call. Left is given only for reasons r with r.IsLeave(); a
// close for a reason with r.PromisesFlush() promises that everything the
// connection was owed was written before it (CloseReason's methods are the
// one statement of what each reason promises).
type Observer interface {
	Joined(kernel.Stream)
	Left(kernel.Stream, CloseReason)
	Closed(kernel.Stream, CloseReason)
	Frame(from kernel.Stream, head, tail []byte)
}

// connsMaxLimit keeps connection slots far below 2^32-1, the slot of
// ReservedToken.
const connsMaxLimit = 1 << 24

// DefaultConfig returns the defaults: line framing, 64 KiB frames, 1 MiB
// queue per connection, 10,000 connections, 5 minute idle timeout.
func DefaultConfig() Config {
	return Config{
		Framing:              FramingLine,
		FrameBytesMax:        64 << 10,
		QueueBytesMax:        1 << 20,
		ConnsMax:             10_000,
		IdleTimeout:          5 * time.Minute,
		LingerTimeout:        5 * time.Second,
		LingerBytesMax:       64 << 10,
		ShutdownTimeout:      5 * time.Second,
		AcceptBackoffMin:     10 * time.Millisecond,
		AcceptBackoffMax:     time.Second,
		EventsPerTickMax:     256,
		AcceptsPerTickMax:    128,
		ReadBytesPerTickMax:  256 << 10,
		WriteCallsPerTickMax: 8,
		ReadBufferBytes:      64 << 10,
		PartialKeepBytesMax:  1 << 10,
		InputBytesMax:        InputBytesMaxDefault,
		FrameTimeout:         30 * time.Second,
		InputRateBytesPerSec: 1 << 20,
		InputBurstBytes:      256 << 10,
	}
}

// InputBytesMaxDefault is the default input budget. Its measure: 9,998
// connections that each send all but the last byte of a 64 KiB frame keep
// the live server (cmd/mob, default flags) under about 160 MB of RSS.
const InputBytesMaxDefault = 32 << 20

// withDefaults fills zero fields from DefaultConfig and checks the result.
func (c Config) withDefaults() (Config, error) {
	c = c.filled()
	return c, c.check()
}

// filled is c with its zero fields from DefaultConfig.
func (c Config) filled() Config {
	d := DefaultConfig()
	setInt := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setDur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	if c.Framing == 0 {
		c.Framing = d.Framing
	}
	setInt(&c.FrameBytesMax, d.FrameBytesMax)
	setInt(&c.QueueBytesMax, d.QueueBytesMax)
	setInt(&c.ConnsMax, d.ConnsMax)
	setDur(&c.IdleTimeout, d.IdleTimeout)
	setDur(&c.LingerTimeout, d.LingerTimeout)
	setInt(&c.LingerBytesMax, d.LingerBytesMax)
	setDur(&c.ShutdownTimeout, d.ShutdownTimeout)
	setDur(&c.AcceptBackoffMin, d.AcceptBackoffMin)
	setDur(&c.AcceptBackoffMax, d.AcceptBackoffMax)
	setInt(&c.EventsPerTickMax, d.EventsPerTickMax)
	setInt(&c.AcceptsPerTickMax, d.AcceptsPerTickMax)
	setInt(&c.ReadBytesPerTickMax, d.ReadBytesPerTickMax)
	setInt(&c.WriteCallsPerTickMax, d.WriteCallsPerTickMax)
	setInt(&c.ReadBufferBytes, d.ReadBufferBytes)
	setInt(&c.PartialKeepBytesMax, d.PartialKeepBytesMax)
	setInt(&c.InputBytesMax, d.InputBytesMax)
	setDur(&c.FrameTimeout, d.FrameTimeout)
	setInt(&c.InputRateBytesPerSec, d.InputRateBytesPerSec)
	setInt(&c.InputBurstBytes, d.InputBurstBytes)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Framing != FramingLine && c.Framing != FramingMob {
		bad("framing %v is not line or mob", c.Framing)
	}
	positive := []struct {
		name string
		v    int
	}{
		{"FrameBytesMax", c.FrameBytesMax}, {"QueueBytesMax", c.QueueBytesMax},
		{"ConnsMax", c.ConnsMax}, {"EventsPerTickMax", c.EventsPerTickMax},
		{"AcceptsPerTickMax", c.AcceptsPerTickMax}, {"ReadBytesPerTickMax", c.ReadBytesPerTickMax},
		{"WriteCallsPerTickMax", c.WriteCallsPerTickMax}, {"ReadBufferBytes", c.ReadBufferBytes},
		{"PartialKeepBytesMax", c.PartialKeepBytesMax}, {"LingerBytesMax", c.LingerBytesMax},
		{"InputBytesMax", c.InputBytesMax}, {"InputBurstBytes", c.InputBurstBytes},
	}
	for _, p := range positive {
		if p.v < 0 {
			bad("%s is %d; it must be positive", p.name, p.v)
		}
	}
	if c.ConnsMax > connsMaxLimit {
		bad("ConnsMax is %d; the largest allowed is %d", c.ConnsMax, connsMaxLimit)
	}
	if int64(c.FrameBytesMax) > 1<<30 {
		bad("FrameBytesMax is %d; the largest allowed is %d", c.FrameBytesMax, 1<<30)
	}
	if int64(c.QueueBytesMax) > 1<<40 {
		bad("QueueBytesMax is %d; the largest allowed is %d", c.QueueBytesMax, int64(1)<<40)
	}
	if c.QueueBytesMax > math.MaxInt/2 { // the ring rounds up to a power of two
		bad("QueueBytesMax is %d; the largest allowed here is %d", c.QueueBytesMax, math.MaxInt/2)
	}
	if c.EventsPerTickMax > 1<<16 {
		bad("EventsPerTickMax is %d; the largest allowed is %d", c.EventsPerTickMax, 1<<16)
	}
	if c.ReadBufferBytes > 1<<26 {
		bad("ReadBufferBytes is %d; the largest allowed is %d", c.ReadBufferBytes, 1<<26)
	}
	if frame := c.FrameBytesMax + c.Framing.headerBytes(); c.QueueBytesMax < frame {
		bad("QueueBytesMax (%d) must hold one largest frame (%d bytes with framing)", c.QueueBytesMax, frame)
	}
	if frame := c.FrameBytesMax + c.Framing.headerBytes(); c.InputBytesMax < frame {
		bad("InputBytesMax (%d) must hold one largest frame (%d bytes with framing)", c.InputBytesMax, frame)
	}
	if c.InputBurstBytes > 1<<30 {
		bad("InputBurstBytes is %d; the largest allowed is %d", c.InputBurstBytes, 1<<30)
	}
	if int64(c.InputRateBytesPerSec) > 1<<40 {
		bad("InputRateBytesPerSec is %d; the largest allowed is %d", c.InputRateBytesPerSec, int64(1)<<40)
	}
	if c.InputRateBytesPerSec > 0 {
		// The rate's timer resumes a connection at most once a millisecond:
		// a smaller burst would cap the rate at InputBurstBytes per ms.
		if ms := (c.InputRateBytesPerSec + 999) / 1000; c.InputBurstBytes < ms {
			bad("InputBurstBytes (%d) must hold a millisecond of InputRateBytesPerSec (%d bytes), or the rate is capped at the burst per millisecond", c.InputBurstBytes, ms)
		}
		if floor := c.InputRateFloor(); c.InputRateBytesPerSec < floor {
			bad("InputRateBytesPerSec (%d) is too slow for the timeouts: reading a largest frame (%d bytes with framing) with its pause must take less than IdleTimeout (%v) and FrameTimeout (%v), or the server's own pause times out its clients; the slowest allowed is %d",
				c.InputRateBytesPerSec, c.FrameBytesMax+c.Framing.headerBytes(), c.IdleTimeout, c.FrameTimeout, floor)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"LingerTimeout", c.LingerTimeout}, {"ShutdownTimeout", c.ShutdownTimeout},
		{"AcceptBackoffMin", c.AcceptBackoffMin}, {"AcceptBackoffMax", c.AcceptBackoffMax},
	} {
		if d.v < 0 {
			bad("%s is %v; it must be positive", d.name, d.v)
		}
	}
	if c.AcceptBackoffMax < c.AcceptBackoffMin {
		bad("AcceptBackoffMax (%v) is below AcceptBackoffMin (%v)", c.AcceptBackoffMax, c.AcceptBackoffMin)
	}
	return errors.Join(errs...)
}
