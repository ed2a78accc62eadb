package main

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mobsim/mobsim/server"
)

// The oracle checks delivery on real sockets the way the simulator's does
// on the fake kernel, from two sources: the child's events (joins, leaves,
// closes and the global order of frame keys) and what each client reads.
// It is shared by the event reader and every client goroutine; one mutex
// guards it.

// srvConn is one connection as the server reported it.
type srvConn struct {
	serial  uint32
	addr    string
	join    int // global order index of the first frame it is owed
	left    int // index where it stopped being owed frames; -1 while a member
	closed  bool
	refused bool
	leaveR  server.CloseReason // reason of the leave, if it left
	closeR  server.CloseReason
	client  *clientConn
}

// limit is the end of the window sc is owed: its leave, or the current end
// of the order while it is a member.
func (sc *srvConn) limit(end int) int {
	if sc.left >= 0 {
		return sc.left
	}
	return end
}

// streamEnd says how a client's reading ended.
type streamEnd uint8

const (
	endNone    streamEnd = iota // never read (a never-reader that was reset)
	endEOF                      // clean end of stream at a frame boundary
	endPartial                  // end of stream inside a frame
	endReset                    // ECONNRESET and the like
	endLocal                    // the client closed its own socket
)

var endNames = [...]string{"none", "eof", "partial", "reset", "local"}

func (e streamEnd) String() string { return endNames[e] }

// clientConn is one connection as a client made it. Fields below mu are
// guarded by the oracle's mutex.
type clientConn struct {
	id   uint32
	beh  behaviour
	addr string // local address, as the server sees the peer

	clientClosed atomic.Bool // set just before the client closes its socket

	srv        *srvConn
	cursor     int      // global index of the next frame it should read
	pending    []uint64 // keys read but not yet checked against the order
	logged     uint32   // its frames that entered the global order
	sent       uint32   // its frames completely written (final once ownerDone)
	finSent    bool     // it sent a FIN after its last frame
	sentBad    server.CloseReason
	errFrame   string // the error frame's body, if one came
	end        streamEnd
	serverEnd  bool // the stream ended before the client closed its socket
	readerDone bool
	ownerDone  bool
	survivor   bool
	bad        bool // a violation was found; stop checking it
	finalized  bool
}

// oracle holds the global order and the matching of server connections to
// clients.
type oracle struct {
	mu         sync.Mutex
	payloadMax int
	order      []uint64 // frame keys in the global order (8 bytes a frame)

	open    map[uint32]*srvConn   // server connections not yet closed, by serial
	waitSrv map[string][]*srvConn // server connections no client has claimed yet, by address
	waitCli map[string][]*clientConn
	live    map[uint32]*clientConn // clients not yet finalized, by id
	stalled map[*clientConn]bool   // clients whose reads wait for the order to catch up

	delivered  uint64 // frames checked at a receiver
	frameBytes uint64
	reasons    [32]uint64 // server closes by reason, from the events
	byBeh      [behaviourCount]behTally
	complete   uint64 // connections whose full delivery was checked
	finalStats *server.Stats

	violations uint64
	firstViols []string
}

// behTally counts, for one behaviour, connections and how the server
// closed them.
type behTally struct {
	conns   uint64
	reasons [32]uint64
}

func newOracle(payloadMax int) *oracle {
	return &oracle{
		payloadMax: payloadMax,
		open:       map[uint32]*srvConn{},
		waitSrv:    map[string][]*srvConn{},
		waitCli:    map[string][]*clientConn{},
		live:       map[uint32]*clientConn{},
		stalled:    map[*clientConn]bool{},
	}
}

// violation records a broken invariant. The caller holds mu.
func (o *oracle) violation(format string, args ...any) {
	o.violations++
	if len(o.firstViols) < 20 {
		o.firstViols = append(o.firstViols, fmt.Sprintf(format, args...))
	}
}

// clientViolation records a violation for cc and stops checking it.
func (o *oracle) clientViolation(cc *clientConn, format string, args ...any) {
	if cc.bad {
		return
	}
	cc.bad = true
	o.violation("conn %d (%s, %s): %s", cc.id, cc.beh, cc.addr, fmt.Sprintf(format, args...))
}

// register makes a client known right after its connect, before it sends.
func (o *oracle) register(cc *clientConn) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.live[cc.id] = cc
	o.byBeh[cc.beh].conns++
	if q := o.waitSrv[cc.addr]; len(q) > 0 {
		o.popSrv(cc.addr)
		o.link(q[0], cc)
		return
	}
	o.waitCli[cc.addr] = append(o.waitCli[cc.addr], cc)
}

// match pairs a server connection with its client. Two connections can
// have the same address only one after the other (the client side holds
// the port while it is open), and the server accepts in connect order, so
// pairing in order per address is exact.
func (o *oracle) match(sc *srvConn) {
	if q := o.waitCli[sc.addr]; len(q) > 0 {
		if len(q) == 1 {
			delete(o.waitCli, sc.addr)
		} else {
			o.waitCli[sc.addr] = q[1:]
		}
		o.link(sc, q[0])
		return
	}
	o.waitSrv[sc.addr] = append(o.waitSrv[sc.addr], sc)
}

func (o *oracle) popSrv(addr string) {
	if q := o.waitSrv[addr]; len(q) == 1 {
		delete(o.waitSrv, addr)
	} else {
		o.waitSrv[addr] = q[1:]
	}
}

func (o *oracle) link(sc *srvConn, cc *clientConn) {
	sc.client, cc.srv = cc, sc
	cc.cursor = sc.join
	o.verify(cc)
	o.maybeFinalize(cc)
}

// apply takes a batch of the child's events, in order.
func (o *oracle) apply(evs []event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := range evs {
		o.applyOne(&evs[i])
	}
	for cc := range o.stalled {
		delete(o.stalled, cc)
		o.verify(cc)
		o.maybeFinalize(cc)
	}
}

func (o *oracle) applyOne(ev *event) {
	switch ev.kind {
	case evJoined:
		sc := &srvConn{serial: ev.serial, addr: ev.addr, join: len(o.order), left: -1}
		o.open[ev.serial] = sc
		o.match(sc)
	case evRefused:
		o.reasons[ev.reason]++
		o.violation("server refused %s: %s (the soak keeps below -conns-max)", ev.addr, ev.reason)
		sc := &srvConn{serial: ev.serial, addr: ev.addr, join: len(o.order), left: len(o.order),
			closed: true, refused: true, closeR: ev.reason}
		o.match(sc)
	case evLeft:
		sc := o.open[ev.serial]
		if sc == nil {
			o.violation("leave of unknown server connection %d", ev.serial)
			return
		}
		sc.left, sc.leaveR = len(o.order), ev.reason
		if cc := sc.client; cc != nil {
			o.verify(cc)
		}
	case evClosed:
		sc := o.open[ev.serial]
		if sc == nil {
			o.violation("close of unknown server connection %d", ev.serial)
			return
		}
		delete(o.open, ev.serial)
		o.reasons[ev.reason]++
		sc.closed, sc.closeR = true, ev.reason
		if sc.left < 0 {
			sc.left = len(o.order)
		}
		if cc := sc.client; cc != nil {
			o.byBeh[cc.beh].reasons[ev.reason]++
			o.verify(cc)
			o.maybeFinalize(cc)
		}
	case evFrame:
		o.frame(ev)
	case evStats:
		st := ev.stats
		o.finalStats = &st
	}
}

// frame checks a frame's sender and appends its key to the order.
func (o *oracle) frame(ev *event) {
	sc := o.open[ev.serial]
	switch {
	case sc == nil:
		o.violation("frame %#x from unknown server connection %d", ev.key, ev.serial)
	case sc.left >= 0:
		o.violation("frame %#x from %s after it left (%s)", ev.key, sc.addr, sc.leaveR)
	case sc.client == nil:
		// The client registers before it sends, so its join is matched.
		o.violation("frame %#x from %s, which no client claims", ev.key, sc.addr)
	default:
		cc := sc.client
		switch {
		case keyID(ev.key) != cc.id:
			o.clientViolation(cc, "the server read frame %#x (connection %d's) from it", ev.key, keyID(ev.key))
		case keySeq(ev.key) != cc.logged:
			o.clientViolation(cc, "its frame #%d entered the order after #%d: a frame of its stream was lost or reordered",
				keySeq(ev.key), cc.logged-1)
		case int(ev.size) != bodySize(ev.key, o.payloadMax):
			o.clientViolation(cc, "the server read frame #%d as %d bytes; it sent %d", keySeq(ev.key), ev.size,
				bodySize(ev.key, o.payloadMax))
		}
		cc.logged++
	}
	o.order = append(o.order, ev.key)
	o.frameBytes += uint64(ev.size)
}

// received takes keys a client read, in order, and the error frame if
// it came.
func (o *oracle) received(cc *clientConn, keys []uint64, errFrame string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if cc.errFrame != "" && len(keys) > 0 {
		o.clientViolation(cc, "frame %#x after the error frame %q", keys[0], cc.errFrame)
	}
	cc.pending = append(cc.pending, keys...)
	o.verify(cc)
	if errFrame != "" {
		if cc.errFrame != "" {
			o.clientViolation(cc, "a second error frame %q", errFrame)
		}
		cc.errFrame = errFrame
	}
}

// violationOf records a client-side violation found outside the oracle (a
// corrupt body, a bad header).
func (o *oracle) violationOf(cc *clientConn, format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.clientViolation(cc, format, args...)
}

// verify checks cc's pending keys against the order from its cursor: each
// must be the next frame it is owed. Keys beyond the known order wait.
func (o *oracle) verify(cc *clientConn) {
	if cc.srv == nil || cc.bad {
		return
	}
	limit := cc.srv.limit(len(o.order))
	i := 0
	for ; i < len(cc.pending); i++ {
		k := cc.pending[i]
		if cc.cursor >= limit {
			if cc.srv.left >= 0 {
				o.clientViolation(cc, "read frame %#x beyond its window [%d, %d) (it left for %s)",
					k, cc.srv.join, cc.srv.left, cc.srv.leaveR)
				return
			}
			break // the order has not caught up yet
		}
		if want := o.order[cc.cursor]; k != want {
			o.clientViolation(cc, "read frame %#x where the order has %#x (global #%d; joined at #%d): gap, duplicate or reordering",
				k, want, cc.cursor, cc.srv.join)
			return
		}
		cc.cursor++
	}
	o.delivered += uint64(i)
	cc.pending = cc.pending[i:]
	if len(cc.pending) > 0 {
		o.stalled[cc] = true
	} else {
		cc.pending = nil
	}
}

// readerEnded records how cc's reading ended, and whether it ended before
// the client closed its socket.
func (o *oracle) readerEnded(cc *clientConn, end streamEnd, serverFirst bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	cc.readerDone, cc.end = true, end
	cc.serverEnd = serverFirst && (end == endEOF || end == endPartial || end == endReset)
	o.maybeFinalize(cc)
}

// ownerEnded records that cc's owner has stopped writing and closed it.
func (o *oracle) ownerEnded(cc *clientConn, sent uint32, finSent bool, sentBad server.CloseReason) {
	o.mu.Lock()
	defer o.mu.Unlock()
	cc.ownerDone, cc.sent, cc.finSent, cc.sentBad = true, sent, finSent, sentBad
	o.maybeFinalize(cc)
}

// flushedReasons are the close reasons that promise everything owed was
// written first.
func flushedReason(r server.CloseReason) bool {
	switch r {
	case server.ReasonEOF, server.ReasonIdle, server.ReasonFrameTooLarge, server.ReasonBadHeader,
		server.ReasonShutdown, server.ReasonConnsLimit:
		return true
	}
	return false
}

// maybeFinalize runs the end-of-connection checks once the client has
// stopped reading and writing and the server has closed it.
func (o *oracle) maybeFinalize(cc *clientConn) {
	if cc.finalized || !cc.readerDone || !cc.ownerDone || cc.srv == nil || !cc.srv.closed {
		return
	}
	o.verify(cc)
	if len(cc.pending) > 0 {
		o.clientViolation(cc, "read %d frames past everything the server sent it (first %#x)", len(cc.pending), cc.pending[0])
	}
	o.finalize(cc)
}

// finalize checks what only the end shows, and forgets cc.
func (o *oracle) finalize(cc *clientConn) {
	cc.finalized = true
	delete(o.live, cc.id)
	delete(o.stalled, cc)
	sc := cc.srv
	if cc.bad || sc == nil {
		return
	}
	r := sc.closeR
	protocol := r == server.ReasonFrameTooLarge || r == server.ReasonBadHeader || r == server.ReasonConnsLimit
	switch {
	case cc.end == endEOF && flushedReason(r):
		if cc.cursor != sc.left {
			o.clientViolation(cc, "closed for %s after a flush but read frames [%d, %d) of its window [%d, %d)",
				r, sc.join, cc.cursor, sc.join, sc.left)
		} else {
			o.complete++
		}
		if protocol && cc.errFrame == "" {
			o.clientViolation(cc, "closed for %s without the error frame", r)
		}
	case cc.end == endPartial && flushedReason(r):
		o.clientViolation(cc, "closed for %s after a flush, yet its stream ended inside a frame", r)
	}
	if cc.errFrame != "" && !protocol {
		o.clientViolation(cc, "got the error frame %q but was closed for %s", cc.errFrame, r)
	}
	if cc.logged > cc.sent {
		o.clientViolation(cc, "%d of its frames entered the order; it wrote %d", cc.logged, cc.sent)
	}
	if cc.finSent && r == server.ReasonEOF && cc.logged != cc.sent {
		o.clientViolation(cc, "sent %d frames then a FIN, and the server read %d", cc.sent, cc.logged)
	}
	if cc.sentBad != 0 && r == cc.sentBad && cc.logged != cc.sent {
		o.clientViolation(cc, "sent %d frames then a bad header, and the server read %d", cc.sent, cc.logged)
	}
	o.checkReason(cc, r)
}

// checkReason checks that the close reason fits what the client did.
func (o *oracle) checkReason(cc *clientConn, r server.CloseReason) {
	switch r {
	case server.ReasonFrameTooLarge, server.ReasonBadHeader:
		if cc.sentBad != r {
			o.clientViolation(cc, "closed for %s, but it sent no such header", r)
		}
	case server.ReasonIdle:
		if cc.beh != idler && !cc.survivor {
			o.clientViolation(cc, "closed for idle, but it sends at least once a second")
		}
	case server.ReasonConnsLimit, server.ReasonRegisterError, server.ReasonShutdown, server.ReasonShutdownTimeout:
		o.clientViolation(cc, "closed for %s during the run", r)
	case server.ReasonReset, server.ReasonWriteError:
		// Only the peer's close or reset makes reads or writes fail.
		if cc.serverEnd {
			o.clientViolation(cc, "closed for %s while the client still had its socket open", r)
		}
	case server.ReasonLingerTimeout:
		// A client reading at full speed to the end takes what it is owed
		// (at most -queue-bytes-max) in far less than the linger timeout.
		if cc.serverEnd {
			o.clientViolation(cc, "closed for linger-timeout though it read at full speed to the end")
		}
	case server.ReasonLingerBytes:
		// Only a client that goes on sending after its error frame (or
		// after the server's FIN) is cut off this way.
		if cc.sentBad == 0 {
			o.clientViolation(cc, "closed for linger-bytes, but it sent no bad input")
		}
	}
	if cc.sentBad != 0 && r != cc.sentBad && r != server.ReasonQueueLimit && r != server.ReasonReset &&
		r != server.ReasonWriteError && r != server.ReasonLingerBytes {
		o.clientViolation(cc, "sent a header the server must refuse (%s), but was closed for %s", cc.sentBad, r)
	}
}

// finalizeAll is the end of the run: every client left is checked as it is.
func (o *oracle) finalizeAll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, cc := range o.live {
		switch {
		case cc.srv == nil:
			o.clientViolation(cc, "the server never accepted it (backlog stranded?)")
		case !cc.srv.closed:
			o.clientViolation(cc, "the server never closed it")
		case !cc.readerDone || !cc.ownerDone:
			o.clientViolation(cc, "its client never finished")
		}
		o.verify(cc)
		o.finalize(cc)
	}
	for addr, q := range o.waitSrv {
		o.violation("%d server connection(s) from %s match no client", len(q), addr)
	}
}

// settled reports whether the order is final: every client the soak made
// was matched, every server connection still open is a survivor's, and
// every survivor's frames are in the order. It says why not, if not.
func (o *oracle) settled(survivors []*clientConn) (bool, string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if n := len(o.waitCli); n > 0 {
		return false, fmt.Sprintf("%d client address(es) not yet accepted", n)
	}
	isSurvivor := map[*clientConn]bool{}
	for _, cc := range survivors {
		isSurvivor[cc] = true
		if cc.srv != nil && !cc.srv.closed && cc.logged != cc.sent {
			return false, fmt.Sprintf("survivor %d: %d of %d frames in the order", cc.id, cc.logged, cc.sent)
		}
	}
	for _, sc := range o.open {
		if sc.client == nil || !isSurvivor[sc.client] {
			return false, fmt.Sprintf("server connection %s still open", sc.addr)
		}
	}
	return true, ""
}

// caughtUp reports whether every open survivor has read the whole order,
// and lists those behind.
func (o *oracle) caughtUp(survivors []*clientConn) (bool, string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var behind []string
	for _, cc := range survivors {
		o.verify(cc)
		if cc.bad || cc.srv == nil || cc.srv.closed {
			continue
		}
		if cc.cursor != len(o.order) {
			behind = append(behind, fmt.Sprintf("conn %d at #%d (%d pending)", cc.id, cc.cursor, len(cc.pending)))
		}
	}
	if len(behind) > 0 {
		if len(behind) > 5 {
			behind = append(behind[:5], "...")
		}
		return false, fmt.Sprintf("%d of %d order entries missing: %s", len(behind), len(o.order), strings.Join(behind, ", "))
	}
	return true, ""
}

// serverClosed reports whether the server has closed cc's connection.
func (o *oracle) serverClosed(cc *clientConn) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return cc.srv != nil && cc.srv.closed
}

// openCount is the number of server connections not yet closed.
func (o *oracle) openCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.open)
}

// progress is a snapshot for the progress line.
type progress struct {
	frames, delivered, violations uint64
	open                          int
}

func (o *oracle) snapshot() progress {
	o.mu.Lock()
	defer o.mu.Unlock()
	return progress{frames: uint64(len(o.order)), delivered: o.delivered, violations: o.violations, open: len(o.open)}
}
