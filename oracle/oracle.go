package oracle

import (
	"fmt"
	"time"

	"github.com/mobsim/mobsim/server"
)

// ConnID names one connection for the whole history. The world that feeds
// the oracle assigns it (the fake kernel's connection id, a recording's
// connection number, the live soak's server-side serial); the server side
// and the client side of one connection use the same id, and an id is never
// reused.
type ConnID = uint64

// Invariant names. The oracle checks delivery, membership, liveness,
// memory, kernel-fidelity, fairness and timing itself; no-panic, no-leak and
// core-invariants are the worlds' own checks (a recovered panic, descriptors
// left after a teardown, Server.Check), named here so that every world
// reports under one list.
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
	InvTiming     = "timing"   // a deadline missed or overslept, an accept back-off out of its sequence
)

// Violation is a broken invariant: which, where in the history (step and
// the server's clock), about which connection (0 if none), what a user
// lost or would see, and the facts that prove it (facts.go).
type Violation struct {
	Invariant string        `json:"invariant"`
	Step      int           `json:"step"`
	Time      time.Duration `json:"time_ns"`
	Conn      ConnID        `json:"conn,omitempty"`
	Detail    string        `json:"detail"`
	Facts     Facts         `json:"facts,omitempty"`
}

func (v *Violation) Error() string {
	return fmt.Sprintf("%s violated at step %d: %s", v.Invariant, v.Step, v.Detail)
}

// Config says what the history is about and what it holds.
type Config struct {
	// Server is the configuration in force, defaults filled in: take it
	// from Server.Config(), never from the value passed to server.New.
	Server server.Config
	// Kernel says the history holds the kernel's record of the server's
	// syscalls (Accepted, Read, ReadEOF, Wrote, ShutWrite, Reset, ...).
	// Without it (a live world watched from outside) the checks that need
	// it are off and their client-side forms run instead; see the package
	// doc.
	Kernel bool
	// Clock is the server's clock (kernel.Poller.Now). Nil: the history has
	// no clock the server and the oracle share, and the timing rules (idle,
	// linger, shutdown deadlines) are not checked.
	Clock func() time.Duration
	// Step says where the history is, for violations (the simulator's step
	// counter). Nil: 0.
	Step func() int
	// Losses says the world reports every byte of the server's output that
	// will never reach its client (Lost). Then an RST after a close that
	// promises the flush is a violation only if it destroyed output;
	// without it, any such RST is (it may have).
	Losses bool
	// Report, if set, receives every violation as it is found, and the
	// oracle goes on checking (a connection found wrong is not checked
	// further). Without it the oracle keeps the first violation only, which
	// Violation returns.
	Report func(*Violation)
}

// Oracle checks one history against the specification in the package doc.
// Feed it every fact in the order the world saw them; it is not safe for
// concurrent use (a live world serialises its calls).
type Oracle struct {
	cfg    server.Config
	kernel bool
	losses bool
	clock  func() time.Duration
	stepf  func() int
	report func(*Violation)

	shutdown bool
	downAt   time.Duration
	tickAt   time.Duration // the clock when the server's last poll returned (or its shutdown began)
	timed    bool          // the history has Polled facts: tickAt is the server's clock
	tickNo   uint64        // ticks begun
	calls    uint64        // the server's read, write, shutdown and accept calls so far
	backoff  backoff

	conns     map[ConnID]*conn // lookups only: order is kept in list
	byID      []*conn          // the same for small ids, which is every world\'s so far
	list      []*conn          // every connection, in order of first mention
	live      []*conn          // connections joined and not closed (conn.liveIdx)
	clients   []*conn          // connections a client opened, in connect order
	holding   []*conn          // connections with received bytes past what is known (no kernel record)
	forgotten int              // forgotten connections still in list

	order order // the global order
	// Frames cut from the current read, not yet claimed by the server
	// (Frame). The server must claim them in order before its next read;
	// those of a connection it tears down meanwhile are dropped.
	pend []pending
	// Output lost between two ticks, after a close that promised the
	// flush: judged at the next tick, once the clients' own closes and
	// resets (which excuse it) are known.
	lossPending []ConnID
	inTick      bool
	pendBytes   []byte

	open, members int     // joined and not closed; joined and not left
	rateOver      []*conn // leavers read past their input rate in this tick (judgeRates)
	partials      int     // bytes of unfinished frames the members' input ends with: at most InputBytesMax
	holders       int     // members whose input ends inside a frame
	leaves        uint64
	progress      uint64 // facts that moved bytes or changed a connection
	tick          tickState
	delivered     uint64 // frames checked at a receiver (client-side form)
	complete      uint64 // connections checked whole at the end of their stream

	violation *Violation
	count     uint64
	staged    []Fact // facts for the next violation (fact)
}

type pending struct {
	id         ConnID
	start, end int // in pendBytes
}

// New returns an oracle for a history of a server configured as cfg.Server.
func New(cfg Config) *Oracle {
	o := &Oracle{
		cfg: cfg.Server, kernel: cfg.Kernel, losses: cfg.Losses, clock: cfg.Clock, stepf: cfg.Step, report: cfg.Report,
		conns: make(map[ConnID]*conn),
	}
	o.order.counts = !o.kernel // frames received are counted in the client-side form
	return o
}

func (o *Oracle) now() time.Duration {
	if o.clock == nil {
		return 0
	}
	return o.clock()
}

func (o *Oracle) step() int {
	if o.stepf == nil {
		return 0
	}
	return o.stepf()
}

// Fail records a violation found by the world itself (a panic, a leak,
// Server.Check), so that a history has one first violation.
func (o *Oracle) Fail(inv, format string, args ...any) { o.failConn(nil, inv, format, args...) }

// FailConn records a violation about connection id found by the world
// itself (a client that read a corrupt frame); id is not checked further
// (Report mode).
func (o *Oracle) FailConn(id ConnID, inv, format string, args ...any) {
	if c := o.lookup(id); c != nil {
		o.failConn(c, inv, format, args...)
		return
	}
	o.failConn(&conn{id: id}, inv, format, args...)
}

// failc records a violation about c; c is not checked further.
func (o *Oracle) failc(c *conn, inv, format string, args ...any) { o.failConn(c, inv, format, args...) }

func (o *Oracle) failConn(c *conn, inv, format string, args ...any) {
	if (c != nil && c.bad) || (o.report == nil && o.violation != nil) {
		o.staged = o.staged[:0]
		return
	}
	v := &Violation{Invariant: inv, Step: o.step(), Time: o.now(), Detail: fmt.Sprintf(format, args...), Facts: o.takeFacts(c)}
	if c != nil {
		v.Conn = c.id
		c.bad = o.report != nil
	}
	o.count++
	if o.violation == nil {
		o.violation = v
	}
	if o.report != nil {
		o.report(v)
	}
}

// Violation returns the first violation found, or nil.
func (o *Oracle) Violation() *Violation { return o.violation }

// Violations counts the violations found.
func (o *Oracle) Violations() uint64 { return o.count }

// Frames is the number of frames in the global order.
func (o *Oracle) Frames() int { return o.order.frames }

// FrameBytes is the size of the global order in bytes, framing included.
func (o *Oracle) FrameBytes() uint64 { return o.order.end() }

// Open and Members are the server's counts as its claims make them:
// connections joined and not yet closed, and joined and not yet left.
func (o *Oracle) Open() int    { return o.open }
func (o *Oracle) Members() int { return o.members }

// Progress counts the facts that moved bytes or changed a connection: it
// stands still exactly when nothing in the world moves.
func (o *Oracle) Progress() uint64 { return o.progress }

// Delivered counts the frames checked at a receiver against the order, and
// Complete the connections checked whole at the end of their stream (both
// in the client-side form, without a kernel record).
func (o *Oracle) Delivered() uint64 { return o.delivered }
func (o *Oracle) Complete() uint64  { return o.complete }

// ConnState is what the history says of one connection so far.
type ConnState struct {
	Joined, Left, Closed, Rejected bool
	LeaveWhy, CloseWhy             server.CloseReason
	Frames                         int // frames the server claimed from it
}

// Conn returns what the history says of id, and false if it never
// mentioned id (or, without a kernel record, has forgotten it: both its
// ends are done).
func (o *Oracle) Conn(id ConnID) (ConnState, bool) {
	c := o.lookup(id)
	if c == nil {
		return ConnState{}, false
	}
	return ConnState{
		Joined: c.joined, Left: c.left, Closed: c.closed, Rejected: c.rejected,
		LeaveWhy: c.leaveWhy, CloseWhy: c.closeWhy, Frames: c.frames,
	}, true
}

// smallIDs bounds the ids kept in a slice rather than the map.
const smallIDs = 1 << 16

// lookup returns the state of id, or nil.
func (o *Oracle) lookup(id ConnID) *conn {
	if id < uint64(len(o.byID)) {
		return o.byID[id]
	}
	if id < smallIDs {
		return nil
	}
	return o.conns[id]
}

// conn returns the state of id, making it on first mention.
func (o *Oracle) conn(id ConnID) *conn {
	if c := o.lookup(id); c != nil {
		return c
	}
	c := &conn{id: id, eofAt: -1, liveIdx: -1}
	if id < smallIDs {
		for uint64(len(o.byID)) <= id {
			o.byID = append(o.byID, nil)
		}
		o.byID[id] = c
	} else {
		o.conns[id] = c
	}
	o.list = append(o.list, c)
	return c
}

// forget drops a finished connection from a history without a kernel
// record, so a long live run holds only what may still change. With a
// kernel record nothing is forgotten: the kernel may still report on a
// connection after both its ends are done (an RST sent by the close).
func (o *Oracle) forget(c *conn) {
	if o.kernel {
		return
	}
	if c.id < uint64(len(o.byID)) {
		o.byID[c.id] = nil
	}
	delete(o.conns, c.id)
	c.forgotten = true
	if o.forgotten++; o.forgotten > 64 && o.forgotten > len(o.list)/2 {
		o.list = compact(o.list)
		o.clients = compact(o.clients)
		o.forgotten = 0
	}
}

func compact(cs []*conn) []*conn {
	kept := cs[:0]
	for _, c := range cs {
		if !c.forgotten {
			kept = append(kept, c)
		}
	}
	clear(cs[len(kept):])
	return kept
}

func clip(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}
