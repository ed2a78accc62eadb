package oracle

import (
	"bytes"
	"fmt"

	"github.com/mobsim/mobsim/server"
)

// When the server may give each close reason. What a reason promises is
// server.CloseReason's (PromisesFlush, IsLeave, ...); what the history must
// show before the server may give it is this file's, one table for leaves
// and one for closes, then the rules every leave and every close obeys.
//
// A precondition reads some of the history's sources. Those that read the
// kernel's record or the server's clock are checked when the claim is made,
// if the history has them; those that read the client's account are the
// forms a history without a kernel record checks instead, once the
// connection is over (a live world's accounts arrive late).

// A precondition is one thing the history must show.
type precondition struct {
	inv  string
	from source
	// fails returns what is wrong, or "" if the precondition holds for c
	// and reason r.
	fails func(o *Oracle, c *conn, r server.CloseReason) string
}

type source uint8

const (
	fromClaims source = iota // the server's own claims and the world's shutdown
	fromKernel               // the kernel's record, at the claim
	fromClock                // the kernel's record and the server's clock, at the claim
	fromClient               // the client's account, once the connection is over (no kernel record)
)

// Why a member may leave, by reason.
var leaveRules = [...][]precondition{
	server.ReasonEOF:           {readItsEOF, clientSentAllRead},
	server.ReasonFrameTooLarge: {inputShowsIt, clientSentShowsIt, clientSentAllRead},
	server.ReasonBadHeader:     {inputShowsIt, clientSentShowsIt, clientSentAllRead},
	server.ReasonIdle:          {silentForIdleTimeout},
	server.ReasonShutdown:      {shutdownUnderWay},
	server.ReasonInputBudget:   {heldUnfinished, budgetReached},
	server.ReasonFrameTimeout:  {heldUnfinished, unfinishedForFrameTimeout},
}

// Every leave: malformed input leaves for what it broke.
var leaveAlways = []precondition{malformedLeavesForIt}

// Why a connection may be closed, by reason.
var closeRules = [...][]precondition{
	server.ReasonNone:            {noReason},
	server.ReasonReset:           {kernelSawReset, readWhatReachedIt, clientGoneFirst},
	server.ReasonWriteError:      {kernelSawReset, readWhatReachedIt, clientGoneFirst},
	server.ReasonQueueLimit:      {pinsMoreThanQueueBytesMax},
	server.ReasonConnsLimit:      {neverJoined, connsMaxOpen, wroteRejectLine},
	server.ReasonRegisterError:   {neverJoined},
	server.ReasonLingerTimeout:   {lingeredLingerTimeout},
	server.ReasonShutdownTimeout: {shutdownLeftIt, shutdownTimedOut},
	server.ReasonLingerBytes:     {readLingerBytesMax, cutOwedNothing},
}

// Every close of a connection that joined: malformed input closes only by
// leaving for it or by a teardown; a close that follows a leave comes after
// one; a close that promises the flush comes after it; a malformed sender
// is closed for what it broke.
var closeAlways = []precondition{malformedClosedForIt, leftFirst, flushedFirst, clientSentMalformed, receivedWhole}

func leaveRule(r server.CloseReason) []precondition {
	if int(r) < len(leaveRules) && leaveRules[r] != nil {
		return leaveRules[r]
	}
	return []precondition{notAReasonToLeave}
}

func closeRule(r server.CloseReason) []precondition {
	if int(r) < len(closeRules) {
		return closeRules[r]
	}
	return nil
}

// The preconditions, leave reasons first.
var (
	readItsEOF = precondition{InvMembership, fromKernel, func(o *Oracle, c *conn, _ server.CloseReason) string {
		if c.eofAt != int64(c.stop) {
			return o.hungUpEarly(c, "left")
		}
		return ""
	}}
	inputShowsIt = precondition{InvMembership, fromKernel, func(o *Oracle, c *conn, r server.CloseReason) string {
		if c.input.err != r {
			return fmt.Sprintf("%s left for %v, but its input shows %v: the server dropped a client for a frame it did not send", c.label(), r, c.input.err)
		}
		return ""
	}}
	silentForIdleTimeout = precondition{InvMembership, fromClock, func(o *Oracle, c *conn, _ server.CloseReason) string {
		if idle := o.now() - c.lastFrameTick; o.cfg.IdleTimeout <= 0 || idle < o.cfg.IdleTimeout {
			o.fact("since_last_frame", idle)
			return fmt.Sprintf("%s left idle %v after its last complete frame (timeout %v): the server dropped a client that was not idle", c.label(), idle, o.cfg.IdleTimeout)
		}
		return ""
	}}
	heldUnfinished = precondition{InvMembership, fromKernel, func(o *Oracle, c *conn, r server.CloseReason) string {
		if c.partial == 0 {
			return fmt.Sprintf("%s left for %v, but its input ends at a frame boundary: it held no unfinished frame", c.label(), r)
		}
		return ""
	}}
	// budgetReached: an input-budget eviction needs the budget spent. A
	// buffer holds at most twice its unfinished frame, or the first
	// allocation (64 bytes), or a buffer kept from the last frame
	// (PartialKeepBytesMax), so the members' buffers hold at most
	// 2 × their unfinished bytes + that much each; an eviction while even
	// that fits in InputBytesMax evicted a client the budget had room for.
	budgetReached = precondition{InvMembership, fromKernel, func(o *Oracle, c *conn, _ server.CloseReason) string {
		each := max(64, o.cfg.PartialKeepBytesMax)
		if most := 2*o.partials + o.holders*each; most <= o.cfg.InputBytesMax {
			o.fact("unfinished_bytes", o.partials)
			o.fact("holding_members", o.holders)
			return fmt.Sprintf("%s left for input-budget, but the members hold %d bytes of unfinished frames in %d buffers (at most %d bytes of buffer), within InputBytesMax %d: the budget had room, and a client was turned away for nothing",
				c.label(), o.partials, o.holders, most, o.cfg.InputBytesMax)
		}
		return ""
	}}
	unfinishedForFrameTimeout = precondition{InvMembership, fromClock, func(o *Oracle, c *conn, _ server.CloseReason) string {
		if d := o.now() - c.partialAtTick; o.cfg.FrameTimeout <= 0 || d < o.cfg.FrameTimeout {
			o.fact("frame_begun_for", d)
			return fmt.Sprintf("%s left for frame-timeout %v after its frame began (timeout %v): the server dropped a client whose frame was not late", c.label(), d, o.cfg.FrameTimeout)
		}
		return ""
	}}
	shutdownUnderWay = precondition{InvMembership, fromClaims, func(o *Oracle, c *conn, _ server.CloseReason) string {
		if !o.shutdown {
			return fmt.Sprintf("%s left for shutdown with no shutdown under way", c.label())
		}
		return ""
	}}
	notAReasonToLeave = precondition{InvMembership, fromClaims, func(o *Oracle, c *conn, r server.CloseReason) string {
		return fmt.Sprintf("%s left for reason %v, which is not a reason to leave", c.label(), r)
	}}
	malformedLeavesForIt = precondition{InvMembership, fromKernel, func(o *Oracle, c *conn, r server.CloseReason) string {
		if c.input.err != 0 && !r.IsProtocolError() {
			return fmt.Sprintf("%s sent a malformed frame (%s) and left for %v: its client is not told what it broke", c.label(), c.input.err, r)
		}
		return ""
	}}

	// The client's account of a leave (no kernel record).
	clientSentShowsIt = precondition{InvMembership, fromClient, func(o *Oracle, c *conn, r server.CloseReason) string {
		if c.sentDec.err != r {
			return fmt.Sprintf("%s left for %v, but its client sent no such frame", c.label(), r)
		}
		return ""
	}}
	clientSentAllRead = precondition{InvDelivery, fromClient, func(o *Oracle, c *conn, r server.CloseReason) string {
		if c.clientReset {
			return "" // a reset may destroy what it sent last: see Tolerances
		}
		if n, _ := c.sentMatch.unmatched(); n > 0 {
			return fmt.Sprintf("%s left for %v with %d bytes of complete frames its client sent never broadcast: the chat never sees them", c.label(), r, n)
		}
		return ""
	}}
)

// The close reasons.
var (
	noReason = precondition{InvMembership, fromClaims, func(o *Oracle, c *conn, _ server.CloseReason) string {
		return fmt.Sprintf("%s closed with no reason", c.label())
	}}
	kernelSawReset = precondition{InvMembership, fromKernel, func(o *Oracle, c *conn, r server.CloseReason) string {
		if c.joined && !c.reset {
			return fmt.Sprintf("%s closed for %v, but the kernel reported no error on it: the server dropped a healthy connection", c.label(), r)
		}
		return ""
	}}
	clientGoneFirst = precondition{InvMembership, fromClient, func(o *Oracle, c *conn, r server.CloseReason) string {
		if c.ended == EndEOF || c.ended == EndTruncated || c.ended == EndReset {
			return fmt.Sprintf("%s closed for %v while its client still had its socket open: the server dropped a healthy connection", c.label(), r)
		}
		return ""
	}}
	// A member and a leaver alike: what pins the log is what it is still
	// owed of its window; one written all of it pins nothing.
	pinsMoreThanQueueBytesMax = precondition{InvMemory, fromKernel, func(o *Oracle, c *conn, _ server.CloseReason) string {
		if !c.joined {
			return ""
		}
		if owed := c.owed(o); owed == 0 {
			return fmt.Sprintf("%s closed for queue-limit though it had been written all it was owed: a client that kept up was evicted", c.label())
		}
		if behind := c.behind(o); behind <= uint64(o.cfg.QueueBytesMax) {
			o.fact("behind_bytes", behind)
			o.fact("queue_bytes_max", o.cfg.QueueBytesMax)
			return fmt.Sprintf("%s closed for queue-limit while owed only %d bytes (limit %d): a client that kept up was evicted", c.label(), behind, o.cfg.QueueBytesMax)
		}
		return ""
	}}
	wroteRejectLine = precondition{InvDelivery, fromKernel, func(o *Oracle, c *conn, _ server.CloseReason) string {
		line := o.rejectLine()
		switch {
		case !bytes.HasPrefix(line, c.errW):
			return fmt.Sprintf("%s was turned away and written %q, not a prefix of %q", c.label(), clip(c.errW), line)
		case len(c.errW) < len(line) && !c.writeCut && !c.reset:
			// Only a full send buffer (or the peer's reset) may cut it.
			return fmt.Sprintf("%s was turned away and written %d of the %d bytes of %q, though the kernel took all it was given: its client is not told why", c.label(), len(c.errW), len(line), line)
		}
		return ""
	}}
	// A teardown for an error the kernel reported comes after the server
	// read what had reached it: the frames a client sent before its reset
	// are not lost (the kernel returns them before the error).
	readWhatReachedIt = precondition{InvDelivery, fromKernel, func(o *Oracle, c *conn, r server.CloseReason) string {
		if !c.joined || c.left || c.input.err != 0 {
			return "" // a leaver's input is dropped; so is what follows a malformed frame
		}
		if n := o.unreadLeft(c); n > 0 {
			o.fact("unread_bytes", n)
			return fmt.Sprintf("%s closed for %v with %d bytes that had reached the server unread: the frames in them are lost", c.label(), r, n)
		}
		return ""
	}}
	neverJoined = precondition{InvMembership, fromClaims, func(o *Oracle, c *conn, r server.CloseReason) string {
		if c.joined {
			return fmt.Sprintf("%s closed for %v after it joined", c.label(), r)
		}
		return ""
	}}
	connsMaxOpen = precondition{InvMembership, fromClaims, func(o *Oracle, c *conn, _ server.CloseReason) string {
		if o.open < o.cfg.ConnsMax {
			return fmt.Sprintf("%s turned away with %d open, ConnsMax %d: the server refused a client it had room for", c.label(), o.open, o.cfg.ConnsMax)
		}
		return ""
	}}
	lingeredLingerTimeout = precondition{InvMembership, fromClock, func(o *Oracle, c *conn, _ server.CloseReason) string {
		if !c.left {
			return fmt.Sprintf("%s closed for linger-timeout without leaving first", c.label())
		}
		if d := o.now() - c.leftTick; d < o.cfg.LingerTimeout {
			return fmt.Sprintf("%s closed for linger-timeout %v after leaving (LingerTimeout %v): its client's time to read the rest was cut", c.label(), d, o.cfg.LingerTimeout)
		}
		if o.shutdown {
			return fmt.Sprintf("%s closed for linger-timeout %v into the shutdown (ShutdownTimeout %v): in a shutdown the shutdown deadline is every leaver's, and its client's time to read the rest was cut", c.label(), o.now()-o.downAt, o.cfg.ShutdownTimeout)
		}
		return ""
	}}
	shutdownLeftIt = precondition{InvMembership, fromClaims, func(o *Oracle, c *conn, _ server.CloseReason) string {
		if !o.shutdown {
			return fmt.Sprintf("%s closed for shutdown-timeout with no shutdown under way", c.label())
		}
		if !c.left {
			return fmt.Sprintf("%s closed for shutdown-timeout without leaving first", c.label())
		}
		return ""
	}}
	shutdownTimedOut = precondition{InvMembership, fromClock, func(o *Oracle, c *conn, _ server.CloseReason) string {
		if d := o.now() - o.downAt; d < o.cfg.ShutdownTimeout {
			return fmt.Sprintf("%s closed for shutdown-timeout %v into the shutdown (timeout %v): its client's time to read the rest was cut", c.label(), d, o.cfg.ShutdownTimeout)
		}
		return ""
	}}
	// The promise: a member that keeps reading gets every frame accepted
	// before its leave, whatever it sends. The linger cut (a reset) may
	// only end one that was written its whole window (and its error frame
	// if it was told why it must go) and its FIN, and then either ignores
	// its error frame or is owed nothing: it acknowledged everything, so
	// the reset destroys none of it (where the world reports losses, Lost
	// holds it to that: promisedWhole).
	cutOwedNothing = precondition{InvDelivery, fromKernel, func(o *Oracle, c *conn, _ server.CloseReason) string {
		if !c.left {
			return fmt.Sprintf("%s was cut for linger-bytes as a member", c.label())
		}
		if msg := o.flushFailure(c, "was cut", c.leaveWhy); msg != "" || !c.shut {
			return fmt.Sprintf("%s was cut for linger-bytes before it was written everything it was owed and its FIN (%s): the reset destroys output it was owed", c.label(), msg)
		}
		return ""
	}}
	readLingerBytesMax = precondition{InvMembership, fromKernel, func(o *Oracle, c *conn, _ server.CloseReason) string {
		if !c.left || c.readLeft <= uint64(o.cfg.LingerBytesMax) {
			o.fact("read_since_leaving_bytes", c.readLeft)
			return fmt.Sprintf("%s closed for linger-bytes after the server read %d bytes from it since it left (left=%v, LingerBytesMax %d)",
				c.label(), c.readLeft, c.left, o.cfg.LingerBytesMax)
		}
		return ""
	}}

	// Every close.
	malformedClosedForIt = precondition{InvMembership, fromKernel, func(o *Oracle, c *conn, r server.CloseReason) string {
		if c.input.err != 0 && !c.left && !r.Aborts() {
			return fmt.Sprintf("%s sent a malformed frame (%s) and was closed for %v: its client is not told what it broke", c.label(), c.input.err, r)
		}
		return ""
	}}
	leftFirst = precondition{InvMembership, fromClaims, func(o *Oracle, c *conn, r server.CloseReason) string {
		if r.FollowsLeave() && !c.left {
			if r == server.ReasonEOF && c.eofAt < 0 && o.kernel {
				return o.hungUpEarly(c, "was closed without leaving first,")
			}
			return fmt.Sprintf("%s closed for %v without leaving first: the graceful close (what it is owed, then the FIN) was skipped", c.label(), r)
		}
		return ""
	}}
	flushedFirst = precondition{InvDelivery, fromKernel, func(o *Oracle, c *conn, r server.CloseReason) string {
		if r.PromisesFlush() && c.left {
			return o.flushFailure(c, "closed", r)
		}
		return ""
	}}
	clientSentMalformed = precondition{InvMembership, fromClient, func(o *Oracle, c *conn, r server.CloseReason) string {
		if e := c.sentDec.err; e != 0 && c.leaveWhy != e && !(r.Aborts() && !c.left) {
			return fmt.Sprintf("%s: its client sent a malformed frame (%v), and it was closed for %v (left for %v)", c.label(), e, r, c.leaveWhy)
		}
		return ""
	}}
	receivedWhole = precondition{InvDelivery, fromClient, func(o *Oracle, c *conn, r server.CloseReason) string {
		return o.receivedWhole(c, r)
	}}
)

// hungUpEarly says how c, which the server treated as hung up (it left or
// was closed for eof), had not ended: the server never read its EOF, so
// what it took for the end was a hang-up hint, and what the client sent
// after the last read is lost.
func (o *Oracle) hungUpEarly(c *conn, what string) string {
	msg := fmt.Sprintf("%s %s for eof before the server read its EOF: a hang-up hint taken for the end of the data", c.label(), what)
	switch {
	case c.client && c.sent > c.readBytes:
		msg += fmt.Sprintf("; %d bytes it sent were never read", c.sent-c.readBytes)
	case c.client && c.sent > 0:
		msg += fmt.Sprintf("; all %d bytes it sent were read, this time", c.sent)
	case c.client:
		msg += "; it had sent nothing, this time"
	}
	return msg
}

type phase bool

const (
	atClaim phase = false // when the claim is made
	atEnd   phase = true  // once the connection is over (client-side forms)
)

// require checks the preconditions of rules that apply in this phase to a
// history like this one, in order, and reports the first that fails.
func (o *Oracle) require(c *conn, r server.CloseReason, rules []precondition, when phase) {
	for _, p := range rules {
		if !o.applies(p.from, when) {
			continue
		}
		if msg := p.fails(o, c, r); msg != "" {
			o.failc(c, p.inv, "%s", msg)
			return
		}
	}
}

func (o *Oracle) applies(from source, when phase) bool {
	switch from {
	case fromClaims:
		return when == atClaim
	case fromKernel:
		return when == atClaim && o.kernel
	case fromClock:
		return when == atClaim && o.kernel && o.clock != nil
	}
	return when == atEnd && !o.kernel
}
