package oracle

import (
	"fmt"
	"time"
)

// Timing: the server's deadlines, as the history shows them, and the rules
// that tie its sleeping and its timers to them. The server reads its clock
// once per tick, when its poll returns (Polled), and when a shutdown
// starts; a stamp it takes can be earlier than the kernel's clock at the
// call that prompted it, by the work the tick did before the call. So the
// oracle keeps both stamps of each reference point (a read, a leave, an
// accept failure) and checks each rule with the bound that any server
// stamping at or after its tick's start must meet:
//
//   - not early: an idle or frame-timeout leave, a linger or shutdown close, an accept after
//     a back-off comes when the kernel's clock is at least the server's
//     stamp of its reference plus the timeout;
//   - not late: once a tick's own time (its poll's return) is at or past
//     the kernel's stamp plus the timeout, that tick does it;
//   - no oversleeping: a poll asks to wait no longer than until the
//     earliest such late deadline (not forever while one is pending).
//
// The accept back-off follows its sequence: a pause after a resource
// error lasts AcceptBackoffMin after a successful accept (or at the
// start), twice the last pause after each further failure, at most
// AcceptBackoffMax; no accept call is made while it lasts.
//
// The late rules and the oversleep rule need the tick's time, so they run
// only for a history with Polled facts (the simulator's).

// AcceptOutcome is what one Accept call returned, as far as the rules need.
type AcceptOutcome uint8

// Accept outcomes.
const (
	AcceptOK        AcceptOutcome = iota // a connection (Accepted follows)
	AcceptEmpty                          // would-block: nothing was waiting (no work)
	AcceptRetry                          // an error of that one connection (ECONNABORTED, EINTR, ...)
	AcceptExhausted                      // a resource ran out (EMFILE, ENFILE, ENOBUFS, ENOMEM): a back-off is due
)

// backoff is the oracle's model of the accept back-off.
type backoff struct {
	paused bool
	atTick time.Duration // the server's stamp of the failure that paused it
	at     time.Duration // the kernel's clock at that failure
	length time.Duration // this pause
	last   time.Duration // the last pause since a successful accept, 0 if none
}

// AcceptCall says the server made one Accept call, and what it returned.
// Every outcome but AcceptEmpty counts against AcceptsPerTickMax.
func (o *Oracle) AcceptCall(r AcceptOutcome) {
	o.calls++
	if r != AcceptEmpty {
		o.tick.accepts++
	}
	b := &o.backoff
	if b.paused {
		if o.timing() && o.now() < b.atTick+b.length {
			o.Fail(InvTiming, "accept called %v after an accept failure paused it for %v (AcceptBackoffMin %v, AcceptBackoffMax %v)",
				o.now()-b.atTick, b.length, o.cfg.AcceptBackoffMin, o.cfg.AcceptBackoffMax)
		}
		b.paused = false
	}
	switch r {
	case AcceptOK:
		b.last = 0
	case AcceptExhausted:
		n := min(max(2*b.last, o.cfg.AcceptBackoffMin), o.cfg.AcceptBackoffMax)
		*b = backoff{paused: true, atTick: o.serverNow(), at: o.now(), length: n, last: n}
	}
}

// PollWaits says the server is about to poll, asking to wait at most
// timeout (negative: until something is ready). It must not sleep past a
// deadline it owns.
func (o *Oracle) PollWaits(timeout time.Duration) {
	if !o.timing() || !o.timed {
		return
	}
	d := o.nextDeadline()
	if !d.ok {
		return
	}
	now := o.now()
	if allowed := max(d.at-now, 0); timeout < 0 || timeout > allowed {
		asked := "forever"
		if timeout >= 0 {
			asked = timeout.String()
		}
		o.Fail(InvTiming, "at %v the server asked to sleep %s, past %s due at %v (oversleeping): what is due then comes late", now, asked, d, d.at)
	}
}

// timing: the history has the kernel's record and a clock.
func (o *Oracle) timing() bool { return o.kernel && o.clock != nil }

// serverNow is the clock as the server last read it: the time its last
// poll returned, or its shutdown began. Without Polled facts it is the
// kernel's clock.
func (o *Oracle) serverNow() time.Duration {
	if o.timed {
		return o.tickAt
	}
	return o.now()
}

// deadline is one the history knows of: when, and whose.
type deadline struct {
	at   time.Duration
	ok   bool
	kind uint8 // one of the deadline kinds below
	c    *conn
	b    time.Duration // the back-off's length
}

const (
	dueLinger uint8 = iota
	dueIdle
	dueShutdown
	dueBackoff
	dueFrame
)

func (d deadline) String() string {
	switch d.kind {
	case dueLinger:
		return d.c.label() + "'s linger time"
	case dueIdle:
		return d.c.label() + "'s idle timeout"
	case dueShutdown:
		return "the shutdown deadline"
	case dueFrame:
		return d.c.label() + "'s frame timeout"
	}
	return fmt.Sprintf("the end of the %v accept back-off", d.b)
}

// nextDeadline returns the earliest deadline the history knows of, as its
// late bound: a member's idle timeout, a leaving connection's linger time,
// a member's frame timeout (it holds an unfinished frame), the shutdown
// deadline, the end of an accept back-off.
func (o *Oracle) nextDeadline() deadline {
	var d deadline
	consider := func(t time.Duration, kind uint8, c *conn) {
		if !d.ok || t < d.at {
			d = deadline{at: t, ok: true, kind: kind, c: c}
		}
	}
	cfg := &o.cfg
	for _, c := range o.live {
		switch {
		case c.left:
			if !o.shutdown { // in a shutdown its deadline is the shutdown's
				consider(c.leftAt+cfg.LingerTimeout, dueLinger, c)
			}
		default:
			if cfg.IdleTimeout > 0 {
				consider(c.lastFrame+cfg.IdleTimeout, dueIdle, c)
			}
			if cfg.FrameTimeout > 0 && c.partial > 0 {
				consider(c.partialAt+cfg.FrameTimeout, dueFrame, c)
			}
		}
	}
	if o.shutdown && len(o.live) > 0 {
		consider(o.downAt+cfg.ShutdownTimeout, dueShutdown, nil)
	}
	if b := &o.backoff; b.paused && !o.shutdown {
		consider(b.at+b.length, dueBackoff, nil)
		if d.kind == dueBackoff {
			d.b = b.length
		}
	}
	return d
}

// lateTimers checks, at the end of a tick, that every deadline whose late
// bound the tick's time had reached was met in it.
func (o *Oracle) lateTimers() {
	if !o.timing() || !o.timed {
		return
	}
	t, cfg := o.tickAt, &o.cfg
	if o.shutdown && len(o.live) > 0 && t >= o.downAt+cfg.ShutdownTimeout {
		o.Fail(InvTiming, "%d connections still open %v into the shutdown (timeout %v): the shutdown overruns its deadline", len(o.live), t-o.downAt, cfg.ShutdownTimeout)
		return
	}
	for _, c := range o.live {
		switch {
		case c.left && !o.shutdown && t >= c.leftAt+cfg.LingerTimeout:
			o.failc(c, InvTiming, "%s left %v before this tick and is still open (linger timeout %v): its close is late, and its client waits for the end of stream", c.label(), t-c.leftAt, cfg.LingerTimeout)
			return
		case !c.left && cfg.IdleTimeout > 0 && t >= c.lastFrame+cfg.IdleTimeout:
			o.fact("since_last_frame", t-c.lastFrame)
			o.failc(c, InvTiming, "%s has sent no complete frame for %v and is still a member (idle timeout %v): its idle close is late", c.label(), t-c.lastFrame, cfg.IdleTimeout)
			return
		case !c.left && cfg.FrameTimeout > 0 && c.partial > 0 && t >= c.partialAt+cfg.FrameTimeout:
			o.fact("frame_begun_for", t-c.partialAt)
			o.failc(c, InvTiming, "%s's unfinished frame began %v before this tick and it is still a member (frame timeout %v): its frame-timeout leave is late", c.label(), t-c.partialAt, cfg.FrameTimeout)
			return
		}
	}
	if b := &o.backoff; b.paused && !o.shutdown && t >= b.at+b.length {
		o.Fail(InvTiming, "the accept back-off of %v ended %v before this tick, and the server has not accepted since: the clients in the backlog wait", b.length, t-b.at-b.length)
	}
}
