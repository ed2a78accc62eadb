package sim

import (
	"bytes"
	"fmt"
	"time"

	"github.com/mobsim/mobsim/server"
)

// The oracle checks the server against a plain model built only from what the
// kernel saw (accepts, the bytes each read returned, the bytes each write
// took) and from the server's membership claims, each of which it verifies.
//
// The model: every frame the server read goes into one global stream, `all`,
// in read order. A connection joins at some offset of `all` and leaves at a
// later one (stop). Everything the server writes to it must be exactly
// all[join:stop] in order — then, if it left over a protocol error, one
// error frame. A close for a graceful reason (eof, protocol error, idle,
// shutdown) promises that all of it was written first.

// Violation is a broken invariant: which, when, and what was seen.
type Violation struct {
	Invariant string `json:"invariant"`
	Step      int    `json:"step"`
	Detail    string `json:"detail"`
}

func (v *Violation) Error() string {
	return fmt.Sprintf("%s violated at step %d: %s", v.Invariant, v.Step, v.Detail)
}

// Invariant names.
const (
	InvPanic      = "no-panic"
	InvDelivery   = "delivery"
	InvMembership = "membership"
	InvLiveness   = "liveness"
	InvMemory     = "memory"
	InvLeak       = "no-leak"
	InvKernel     = "kernel-fidelity"
	InvCore       = "core-invariants"
	InvFairness   = "fairness" // a per-tick budget exceeded
)

type oconn struct {
	id       uint64
	accepted bool
	joined   bool
	rejected bool
	left     bool
	closed   bool // the server closed it
	shut     bool // the server sent FIN (CloseWrite)
	reason   server.CloseReason

	join, stop uint64 // offsets in all; stop valid once left
	ringW      uint64 // bytes of all[join:stop] written so far
	errW       []byte // bytes written after the broadcast range (an error frame)
	dec        decoder
	eofAt      int64 // offset of all when the server read EOF, or -1
	lastData   time.Duration
	clientRecv uint64 // bytes the client has read, checked against what was written
	readBytes  uint64 // bytes the server read from it
	reset      bool   // the kernel reported the connection reset
	leftAt     time.Duration
}

type pending struct {
	id         uint64
	start, end int // in pendBytes
}

type oracle struct {
	framing  server.Framing
	cfg      server.Config
	now      func() time.Duration
	step     *int
	shutdown bool
	conns    map[uint64]*oconn // lookups only; order is kept in list
	list     []*oconn
	all      []byte
	frames   int
	// Frames cut from the current read, not yet claimed by the server
	// (Observer.Frame). The server must claim them in order before its
	// next read; those of a connection it closes meanwhile are dropped.
	pend      []pending
	pendBytes []byte
	open      int    // joined and not closed: what the server counts against ConnsMax
	leaves    uint64 // Left claims so far
	violation *Violation
}

func newOracle(cfg server.Config, now func() time.Duration, step *int) *oracle {
	return &oracle{framing: cfg.Framing, cfg: cfg, now: now, step: step, conns: make(map[uint64]*oconn)}
}

func (o *oracle) fail(inv, format string, args ...any) {
	if o.violation == nil {
		o.violation = &Violation{Invariant: inv, Step: *o.step, Detail: fmt.Sprintf(format, args...)}
	}
}

func (o *oracle) conn(id uint64) *oconn {
	c := o.conns[id]
	if c == nil {
		c = &oconn{id: id, eofAt: -1}
		o.conns[id] = c
		o.list = append(o.list, c)
	}
	return c
}

// Kernel side: called for every server-side syscall result.

func (o *oracle) accepted(id uint64) {
	c := o.conn(id)
	if c.accepted {
		o.fail(InvKernel, "conn %d accepted twice", id)
	}
	c.accepted = true
	c.lastData = o.now()
	c.dec = decoder{mob: o.framing == server.FramingMob, bodyMax: o.cfg.FrameBytesMax}
}

func (o *oracle) read(id uint64, p []byte) {
	c := o.conn(id)
	c.readBytes += uint64(len(p))
	if len(o.pend) > 0 {
		o.fail(InvDelivery, "server read again before broadcasting the %d frames it had read from conn %d", len(o.pend), o.pend[0].id)
		return
	}
	o.pendBytes = o.pendBytes[:0]
	switch {
	case c.rejected:
		o.fail(InvMembership, "server read from conn %d, which it turned away", id)
		return
	case !c.joined:
		o.fail(InvMembership, "server read from conn %d before it joined", id)
		return
	case c.left || c.dec.err != "":
		return // a leaving connection's input is read and dropped
	}
	if len(p) > 0 {
		c.lastData = o.now()
	}
	c.dec.feed(p, func(f []byte) {
		start := len(o.pendBytes)
		o.pendBytes = append(o.pendBytes, f...)
		o.pend = append(o.pend, pending{id: id, start: start, end: len(o.pendBytes)})
	})
}

func (o *oracle) readEOF(id uint64) {
	c := o.conn(id)
	for _, f := range o.pend {
		if f.id == id {
			o.fail(InvDelivery, "server read EOF on conn %d before broadcasting a frame it had read", id)
		}
	}
	if c.joined && !c.left && c.eofAt < 0 {
		c.eofAt = int64(len(o.all))
	}
}

func (o *oracle) wrote(id uint64, p []byte) {
	c := o.conn(id)
	if c.closed {
		o.fail(InvKernel, "write to conn %d after the server closed it", id)
		return
	}
	if c.rejected || !c.joined {
		c.errW = append(c.errW, p...)
		return
	}
	limit := uint64(len(o.all))
	if c.left {
		limit = c.stop
	}
	pos := c.join + c.ringW
	n := min(uint64(len(p)), limit-pos)
	if !bytes.Equal(p[:n], o.all[pos:pos+n]) {
		o.fail(InvDelivery, "conn %d: bytes %d..%d of its stream differ from the broadcast (got %q, want %q)",
			id, c.ringW, c.ringW+n, clip(p[:n]), clip(o.all[pos:pos+n]))
		return
	}
	c.ringW += n
	if rest := p[n:]; len(rest) > 0 {
		if !c.left {
			o.fail(InvDelivery, "conn %d: %d bytes written past everything the server read (duplicate or invented)", id, len(rest))
			return
		}
		if c.reason != server.ReasonFrameTooLarge && c.reason != server.ReasonBadHeader {
			o.fail(InvDelivery, "conn %d left for %v, then was written %d bytes past its leave point", id, c.reason, len(rest))
			return
		}
		c.errW = append(c.errW, rest...)
	}
}

func (o *oracle) shutWrite(id uint64) { o.conn(id).shut = true }

func (o *oracle) kernelReset(id uint64) {
	c := o.conn(id)
	c.reset = true
	if c.closed && c.joined && graceful(c.reason) {
		o.fail(InvDelivery, "conn %d closed for %v with unread input: its RST may destroy output the server claims it delivered", id, c.reason)
	}
}

// Server side: membership claims, each checked against the kernel's record.

// frameClaim checks the server's claim that the next frame in the global
// order is head+tail from conn id: it must be the next frame the oracle cut
// from the kernel's reads, and its sender must still be a member.
func (o *oracle) frameClaim(id uint64, head, tail []byte) {
	got := func() []byte { return clip(append(append([]byte(nil), head...), tail...)) }
	if c := o.conns[id]; c == nil || !c.joined || c.left || c.closed {
		o.fail(InvDelivery, "server broadcast a frame from conn %d, which is not a member (%q)", id, got())
		return
	}
	if len(o.pend) == 0 {
		o.fail(InvDelivery, "server broadcast a frame from conn %d that no read delivered whole (%q)", id, got())
		return
	}
	f := o.pend[0]
	want := o.pendBytes[f.start:f.end]
	if f.id != id || len(want) != len(head)+len(tail) || !bytes.Equal(want[:len(head)], head) || !bytes.Equal(want[len(head):], tail) {
		o.fail(InvDelivery, "server's frame %d is %q from conn %d; the reads give %q from conn %d",
			o.frames, got(), id, clip(want), f.id)
		return
	}
	o.pend = o.pend[1:]
	o.all = append(o.all, want...)
	o.frames++
}

// dropPending forgets the unclaimed frames of a connection being closed.
func (o *oracle) dropPending(id uint64) {
	kept := o.pend[:0]
	for _, f := range o.pend {
		if f.id != id {
			kept = append(kept, f)
		}
	}
	o.pend = kept
}

func (o *oracle) joined(id uint64) {
	c := o.conn(id)
	switch {
	case !c.accepted:
		o.fail(InvMembership, "conn %d joined without being accepted", id)
	case c.joined:
		o.fail(InvMembership, "conn %d joined twice", id)
	case o.open >= o.cfg.ConnsMax:
		o.fail(InvMembership, "conn %d joined with %d open, ConnsMax %d", id, o.open, o.cfg.ConnsMax)
	case len(c.errW) > 0:
		o.fail(InvDelivery, "conn %d was written %d bytes before it joined", id, len(c.errW))
	}
	c.joined = true
	c.join = uint64(len(o.all))
	o.open++
}

func (o *oracle) left(id uint64, r server.CloseReason) {
	c := o.conn(id)
	if !c.joined || c.left || c.closed {
		o.fail(InvMembership, "conn %d left (%v) while not a member", id, r)
		return
	}
	c.left, c.stop, c.reason = true, uint64(len(o.all)), r
	c.leftAt = o.now()
	o.leaves++
	switch r {
	case server.ReasonEOF:
		if c.eofAt != int64(c.stop) {
			o.fail(InvMembership, "conn %d left for eof, but the server had not read its EOF", id)
		}
	case server.ReasonFrameTooLarge, server.ReasonBadHeader:
		if c.dec.err != r.String() {
			o.fail(InvMembership, "conn %d left for %v, but its input shows %q", id, r, c.dec.err)
		}
	case server.ReasonIdle:
		if idle := o.now() - c.lastData; o.cfg.IdleTimeout <= 0 || idle < o.cfg.IdleTimeout {
			o.fail(InvMembership, "conn %d left idle after %v of silence (timeout %v)", id, idle, o.cfg.IdleTimeout)
		}
	case server.ReasonShutdown:
		if !o.shutdown {
			o.fail(InvMembership, "conn %d left for shutdown with no shutdown under way", id)
		}
	default:
		o.fail(InvMembership, "conn %d left for reason %v, which is not a reason to leave", id, r)
	}
	if c.dec.err != "" && r != server.ReasonFrameTooLarge && r != server.ReasonBadHeader {
		o.fail(InvMembership, "conn %d sent a malformed frame (%s) and left for %v", id, c.dec.err, r)
	}
}

// graceful reasons promise that everything owed was written before the close.
func graceful(r server.CloseReason) bool {
	switch r {
	case server.ReasonEOF, server.ReasonFrameTooLarge, server.ReasonBadHeader, server.ReasonIdle, server.ReasonShutdown:
		return true
	}
	return false
}

func (o *oracle) closed(id uint64, r server.CloseReason) {
	c := o.conn(id)
	if c.closed {
		o.fail(InvMembership, "conn %d closed twice", id)
		return
	}
	c.closed = true
	c.reason = r
	switch r {
	case server.ReasonReset, server.ReasonWriteError, server.ReasonQueueLimit:
		o.dropPending(id) // torn down mid-read: the rest of its input goes with it
	default:
		for _, f := range o.pend {
			if f.id == id {
				o.fail(InvDelivery, "conn %d closed for %v with a complete frame read and never broadcast", id, r)
			}
		}
	}
	switch r {
	case server.ReasonLingerTimeout:
		if !c.left || o.now()-c.leftAt < o.cfg.LingerTimeout {
			o.fail(InvMembership, "conn %d closed for linger-timeout (left=%v, %v after leaving)", id, c.left, o.now()-c.leftAt)
		}
	case server.ReasonShutdownTimeout:
		if !o.shutdown || !c.left {
			o.fail(InvMembership, "conn %d closed for shutdown-timeout (shutdown=%v, left=%v)", id, o.shutdown, c.left)
		}
	case server.ReasonRegisterError:
		if c.joined {
			o.fail(InvMembership, "conn %d closed for register-error after it joined", id)
		}
	case server.ReasonNone:
		o.fail(InvMembership, "conn %d closed with no reason", id)
	}
	if r == server.ReasonConnsLimit {
		if c.joined {
			o.fail(InvMembership, "conn %d turned away after it joined", id)
		}
		if o.open < o.cfg.ConnsMax {
			o.fail(InvMembership, "conn %d turned away with %d open, ConnsMax %d", id, o.open, o.cfg.ConnsMax)
		}
		c.rejected = true
		return
	}
	if !c.joined {
		return // register failure
	}
	o.open--
	if (r == server.ReasonReset || r == server.ReasonWriteError) && !c.reset {
		o.fail(InvMembership, "conn %d closed for %v, but the kernel reported no error on it", id, r)
	}
	if c.dec.err != "" && !c.left && r != server.ReasonQueueLimit && r != server.ReasonReset && r != server.ReasonWriteError {
		o.fail(InvMembership, "conn %d sent a malformed frame (%s) and was closed for %v", id, c.dec.err, r)
	}
	if graceful(r) {
		if !c.left {
			o.fail(InvMembership, "conn %d closed for %v without leaving first", id, r)
			return
		}
		if owed := c.stop - c.join - c.ringW; owed > 0 {
			o.fail(InvDelivery, "conn %d closed for %v still owed %d bytes", id, r, owed)
		}
		if r == server.ReasonFrameTooLarge || r == server.ReasonBadHeader {
			if !o.isErrorFrame(c.errW) {
				o.fail(InvDelivery, "conn %d closed for %v without a complete error frame (got %q)", id, r, clip(c.errW))
			}
		}
	}
	if r == server.ReasonQueueLimit {
		if owed := uint64(len(o.all)) - c.join - c.ringW; owed <= uint64(o.cfg.QueueBytesMax) && !c.left {
			o.fail(InvMemory, "conn %d closed for queue-limit while owed only %d bytes (limit %d)", id, owed, o.cfg.QueueBytesMax)
		}
	}
}

// isErrorFrame reports whether b is exactly one frame whose body starts
// with "error: ".
func (o *oracle) isErrorFrame(b []byte) bool {
	d := decoder{mob: o.framing == server.FramingMob, bodyMax: 1 << 20}
	var frames [][]byte
	d.feed(b, func(f []byte) { frames = append(frames, f) })
	if len(frames) != 1 || len(d.buf) != 0 {
		return false
	}
	body := frames[0]
	if d.mob {
		body = body[8:]
	}
	return bytes.HasPrefix(body, []byte("error: "))
}

// afterTick checks the memory bound: between ticks no connection with
// broadcast bytes outstanding is more than QueueBytesMax behind the stream.
func (o *oracle) afterTick() {
	if len(o.pend) > 0 {
		o.fail(InvDelivery, "the server read %d frames it never broadcast (first from conn %d)", len(o.pend), o.pend[0].id)
	}
	limit := uint64(o.cfg.QueueBytesMax)
	for _, c := range o.list {
		if !c.joined || c.closed {
			continue
		}
		end := uint64(len(o.all))
		to := end
		if c.left {
			to = c.stop
		}
		if owed := to - c.join - c.ringW; owed > 0 && end-c.join-c.ringW > limit {
			o.fail(InvMemory, "conn %d is %d bytes behind the stream (limit %d) and still open", c.id, end-c.join-c.ringW, limit)
		}
	}
}

// clientRead checks what a client received against what the server wrote to
// its connection: the kernel must carry bytes faithfully.
func (o *oracle) clientRead(id uint64, p []byte) {
	c := o.conn(id)
	written := c.ringW + uint64(len(c.errW))
	if c.clientRecv+uint64(len(p)) > written {
		o.fail(InvKernel, "client %d read %d bytes; the server wrote %d", id, c.clientRecv+uint64(len(p)), written)
		return
	}
	// The connection's stream is all[join:join+ringW] then errW.
	off := c.clientRecv
	if off < c.ringW {
		n := min(uint64(len(p)), c.ringW-off)
		if !bytes.Equal(p[:n], o.all[c.join+off:c.join+off+n]) {
			o.fail(InvKernel, "client %d bytes %d..%d differ from what the server wrote", id, off, off+n)
			return
		}
		p, off = p[n:], off+n
	}
	if len(p) > 0 && !bytes.Equal(p, c.errW[off-c.ringW:off-c.ringW+uint64(len(p))]) {
		o.fail(InvKernel, "client %d bytes %d.. differ from the error frame the server wrote", id, off)
		return
	}
	c.clientRecv = off + uint64(len(p))
}

func clip(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}
