package main

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/mobsim/mobsim/internal/recfile"
	spec "github.com/mobsim/mobsim/oracle"
	"github.com/mobsim/mobsim/server"
)

// The soak checks delivery on real sockets with the same oracle (package
// oracle) as the simulator and the properties, fed from two sources: the
// child's events (the server's Observer: joins, leaves, closes and the
// global order of frame keys) and what each client sent and read. There is
// no kernel record here and no clock shared with the server, so the oracle
// runs its client-side forms (see its package doc).
//
// This file only adapts: it pairs each server connection with its client
// by address, gives the oracle each frame as its digest (see appendDigest),
// holds a client's account until its server connection is known,
// serialises the goroutines' calls with one mutex, and keeps what the
// report counts. The checks that are this workload's,
// not the server's promise (which behaviours may see which close reasons),
// are in finalize.

// srvConn is one connection as the server reported it.
type srvConn struct {
	serial uint32
	addr   string
	closed bool
	closeR server.CloseReason
	client *clientConn
}

// streamEnd says how a client's reading ended, in the oracle's terms.
type streamEnd = spec.End

const (
	endNone    = spec.EndNone      // never read (a never-reader that was reset)
	endEOF     = spec.EndEOF       // clean end of stream at a frame boundary
	endPartial = spec.EndTruncated // end of stream inside a frame
	endReset   = spec.EndReset     // ECONNRESET and the like
	endLocal   = spec.EndLocal     // the client closed its own socket
)

// clientConn is one connection as a client made it. Fields below
// clientClosed are guarded by the oracle's mutex.
type clientConn struct {
	id   uint32
	beh  behaviour
	addr string // local address, as the server sees the peer

	clientClosed atomic.Bool // set just before the client closes its socket
	acct         account     // what its socket took and returned (see account)

	srv        *srvConn
	recv       []byte // what it read, not yet passed on (its server connection is not known yet)
	fed        uint32 // its frames passed on as sent
	sent       uint32 // its frames completely written (final once ownerDone)
	sentBad    server.CloseReason
	end        streamEnd
	serverEnd  bool // the stream ended before the client closed its socket
	readerDone bool
	ownerDone  bool
	passedEnd  bool // the oracle has been told how it ended
	survivor   bool
	bad        bool // a violation was found; stop checking it
	finalized  bool
}

// oracle holds the shared oracle and the matching of server connections to
// clients.
type oracle struct {
	mu         sync.Mutex
	o          *spec.Oracle
	payloadMax int
	frameBuf   []byte

	open    map[uint32]*srvConn   // server connections not yet closed, by serial
	waitSrv map[string][]*srvConn // server connections no client has claimed yet, by address
	waitCli map[string][]*clientConn
	live    map[uint32]*clientConn // clients not yet finalized, by id
	names   map[uint32]string      // client names of linked serials, for violations

	frameBytes uint64     // bodies in the global order
	reasons    [32]uint64 // server closes by reason, from the events
	byBeh      [behaviourCount]behTally
	finalStats *server.Stats

	firstViols []string

	recording bool              // -record: keep each client's account
	accounts  []recfile.Account // the clients' account so far
}

// behTally counts, for one behaviour, connections and how the server
// closed them.
type behTally struct {
	conns   uint64
	reasons [32]uint64
}

// newOracle makes the soak's oracle for a server configured as cfg.
func newOracle(payloadMax int, cfg server.Config) *oracle {
	cfg.FrameBytesMax = max(cfg.FrameBytesMax, digestBodyBytes) // the oracle sees digests
	or := &oracle{
		payloadMax: payloadMax,
		open:       map[uint32]*srvConn{},
		waitSrv:    map[string][]*srvConn{},
		waitCli:    map[string][]*clientConn{},
		live:       map[uint32]*clientConn{},
		names:      map[uint32]string{},
	}
	or.o = spec.New(spec.Config{Server: cfg, Report: or.record})
	return or
}

// record counts a violation and keeps the first few. The caller holds mu.
func (or *oracle) record(v *spec.Violation) {
	if len(or.firstViols) >= 20 {
		return
	}
	// The detail names the connection already, by the name link gave it.
	or.firstViols = append(or.firstViols, fmt.Sprintf("%s: %s", v.Invariant, v.Detail))
}

// violation records a broken invariant found here. The caller holds mu.
func (or *oracle) violation(format string, args ...any) {
	or.o.Fail(spec.InvMembership, format, args...)
}

// clientViolation records a violation for cc and stops checking it.
func (or *oracle) clientViolation(cc *clientConn, format string, args ...any) {
	if cc.bad {
		return
	}
	cc.bad = true
	msg := fmt.Sprintf(format, args...)
	if cc.srv != nil {
		or.o.FailConn(uint64(cc.srv.serial), spec.InvDelivery, "%s: %s", or.names[cc.srv.serial], msg)
		return
	}
	or.o.Fail(spec.InvDelivery, "conn %d (%s, %s): %s", cc.id, cc.beh, cc.addr, msg)
}

// register makes a client known right after its connect, before it sends.
func (or *oracle) register(cc *clientConn) {
	or.mu.Lock()
	defer or.mu.Unlock()
	or.live[cc.id] = cc
	or.byBeh[cc.beh].conns++
	if q := or.waitSrv[cc.addr]; len(q) > 0 {
		or.popSrv(cc.addr)
		or.link(q[0], cc)
		return
	}
	or.waitCli[cc.addr] = append(or.waitCli[cc.addr], cc)
}

// match pairs a server connection with its client. Two connections can
// have the same address only one after the other (the client side holds
// the port while it is open), and the server accepts in connect order, so
// pairing in order per address is exact.
func (or *oracle) match(sc *srvConn) {
	if q := or.waitCli[sc.addr]; len(q) > 0 {
		if len(q) == 1 {
			delete(or.waitCli, sc.addr)
		} else {
			or.waitCli[sc.addr] = q[1:]
		}
		or.link(sc, q[0])
		return
	}
	or.waitSrv[sc.addr] = append(or.waitSrv[sc.addr], sc)
}

func (or *oracle) popSrv(addr string) {
	if q := or.waitSrv[addr]; len(q) == 1 {
		delete(or.waitSrv, addr)
	} else {
		or.waitSrv[addr] = q[1:]
	}
}

// link pairs sc and cc, and passes on what the client said before.
func (or *oracle) link(sc *srvConn, cc *clientConn) {
	sc.client, cc.srv = cc, sc
	or.names[sc.serial] = fmt.Sprintf("conn %d (%s, %s; the server's conn %d)", cc.id, cc.beh, cc.addr, sc.serial)
	or.o.ClientConnected(uint64(sc.serial), or.names[sc.serial])
	if sc.closed {
		or.byBeh[cc.beh].reasons[sc.closeR]++
	}
	or.pass(cc)
}

// pass gives the oracle what cc's client said that it has not had yet.
func (or *oracle) pass(cc *clientConn) {
	sc := cc.srv
	if sc == nil {
		return
	}
	id := uint64(sc.serial)
	if len(cc.recv) > 0 && !cc.bad {
		or.o.ClientReceived(id, cc.recv)
	}
	cc.recv = cc.recv[:0]
	or.passSent(cc)
	if cc.readerDone && cc.ownerDone && !cc.passedEnd {
		cc.passedEnd = true
		or.o.ClientEnded(id, cc.end)
		if cc.sentBad != 0 {
			or.o.ClientSent(id, badHeader(cc.sentBad))
		}
		or.o.ClientGone(id, false)
		or.maybeFinalize(cc)
	}
}

// passSent gives the oracle the frames cc completed writing since last time.
func (or *oracle) passSent(cc *clientConn) {
	if cc.srv == nil {
		return
	}
	for ; cc.fed < cc.sent; cc.fed++ {
		key := frameKey(cc.id, cc.fed)
		or.frameBuf = appendDigest(or.frameBuf[:0], key, bodySize(key, or.payloadMax))
		or.o.ClientSent(uint64(cc.srv.serial), or.frameBuf)
	}
}

// badHeader stands for the header a client sent that the server must
// refuse for r: any header over the limit, or with bit 63 set.
func badHeader(r server.CloseReason) []byte {
	if r == server.ReasonBadHeader {
		return binary.BigEndian.AppendUint64(nil, 1<<63)
	}
	return binary.BigEndian.AppendUint64(nil, 1<<62)
}

// apply takes a batch of the child's events, in order.
func (or *oracle) apply(evs []event) {
	or.mu.Lock()
	defer or.mu.Unlock()
	for i := range evs {
		or.applyOne(&evs[i])
	}
}

func (or *oracle) applyOne(ev *event) {
	id := uint64(ev.serial)
	switch ev.kind {
	case evJoined:
		sc := &srvConn{serial: ev.serial, addr: ev.addr}
		or.open[ev.serial] = sc
		or.o.Joined(id)
		or.match(sc)
	case evRefused:
		or.reasons[ev.reason]++
		or.violation("server refused %s: %s (the soak keeps below -conns-max)", ev.addr, ev.reason)
		sc := &srvConn{serial: ev.serial, addr: ev.addr, closed: true, closeR: ev.reason}
		or.o.Closed(id, ev.reason)
		or.match(sc)
	case evLeft:
		or.o.Left(id, ev.reason)
	case evClosed:
		sc := or.open[ev.serial]
		or.o.Closed(id, ev.reason)
		if sc == nil {
			return
		}
		delete(or.open, ev.serial)
		or.reasons[ev.reason]++
		sc.closed, sc.closeR = true, ev.reason
		if cc := sc.client; cc != nil {
			or.byBeh[cc.beh].reasons[ev.reason]++
			or.maybeFinalize(cc)
		}
	case evFrame:
		if sc := or.open[ev.serial]; sc != nil && sc.client == nil {
			// The client registers before it sends, so its join is matched.
			or.violation("frame %#x from %s, which no client claims", ev.key, sc.addr)
		}
		or.frameBuf = appendDigest(or.frameBuf[:0], ev.key, int(ev.size))
		or.o.Frame(id, or.frameBuf, nil)
		or.frameBytes += uint64(ev.size)
	case evStats:
		st := ev.stats
		or.finalStats = &st
	}
}

// digestBodyBytes is the size of a digest's body: a key and a body size.
const digestBodyBytes = keyBytes + 8

// appendDigest appends the frame the oracle is given for the frame with
// key and a body of size bytes: a mob frame whose body is the key and the
// size. A body is a pure function of its key, and each client checked every
// body it read byte for byte against its key, so the digest names the frame
// exactly while the oracle compares 24 bytes a frame instead of all of it.
func appendDigest(dst []byte, key uint64, size int) []byte {
	dst = binary.BigEndian.AppendUint64(dst, digestBodyBytes)
	dst = binary.BigEndian.AppendUint64(dst, key)
	return binary.BigEndian.AppendUint64(dst, uint64(size))
}

// received takes keys a client read, in order, and the error frame's body
// if it came (an error frame is given as it is).
func (or *oracle) received(cc *clientConn, keys []uint64, errFrame string) {
	var b []byte
	for _, k := range keys {
		b = appendDigest(b, k, bodySize(k, or.payloadMax))
	}
	if errFrame != "" {
		b = binary.BigEndian.AppendUint64(b, uint64(len(errFrame)))
		b = append(b, errFrame...)
	}
	or.mu.Lock()
	defer or.mu.Unlock()
	cc.recv = append(cc.recv, b...)
	or.pass(cc)
}

// violationOf records a client-side violation found outside the oracle (a
// corrupt body, a bad header).
func (or *oracle) violationOf(cc *clientConn, format string, args ...any) {
	or.mu.Lock()
	defer or.mu.Unlock()
	or.clientViolation(cc, format, args...)
}

// readerEnded records how cc's reading ended, and whether it ended before
// the client closed its socket.
func (or *oracle) readerEnded(cc *clientConn, end streamEnd, serverFirst bool) {
	or.mu.Lock()
	defer or.mu.Unlock()
	cc.readerDone = true
	cc.serverEnd = serverFirst && (end == endEOF || end == endPartial || end == endReset)
	cc.end = end
	if !cc.serverEnd && end != endNone {
		cc.end = endLocal // whatever the reader saw came after the client's own close
	}
	or.pass(cc)
}

// ownerEnded records that cc's owner has stopped writing (after sent
// frames, and a FIN or not: the oracle needs only what was sent) and closed
// it.
func (or *oracle) ownerEnded(cc *clientConn, sent uint32, _ bool, sentBad server.CloseReason) {
	or.mu.Lock()
	defer or.mu.Unlock()
	cc.ownerDone, cc.sent, cc.sentBad = true, sent, sentBad
	or.pass(cc)
}

// maybeFinalize runs the workload's end-of-connection checks once the
// client has stopped reading and writing and the server has closed it.
func (or *oracle) maybeFinalize(cc *clientConn) {
	if cc.finalized || !cc.readerDone || !cc.ownerDone || cc.srv == nil || !cc.srv.closed {
		return
	}
	or.finalize(cc)
}

// finalize checks what this workload expects of the close reasons (the
// server's own promises are the oracle's), and forgets cc.
func (or *oracle) finalize(cc *clientConn) {
	cc.finalized = true
	delete(or.live, cc.id)
	or.keepAccount(cc)
	sc := cc.srv
	if cc.bad || sc == nil {
		return
	}
	defer delete(or.names, sc.serial)
	switch r := sc.closeR; r {
	case server.ReasonIdle:
		if cc.beh != idler && !cc.survivor {
			or.clientViolation(cc, "closed for idle, but it sends at least once a second")
		}
	case server.ReasonConnsLimit, server.ReasonRegisterError, server.ReasonShutdown, server.ReasonShutdownTimeout:
		or.clientViolation(cc, "closed for %s during the run", r)
	case server.ReasonLingerTimeout:
		// A client reading at full speed to the end takes what it is owed
		// (at most -queue-bytes-max) in far less than the linger timeout.
		if cc.serverEnd {
			or.clientViolation(cc, "closed for linger-timeout though it read at full speed to the end")
		}
	case server.ReasonLingerBytes:
		// Only a client that goes on sending after its error frame (or
		// after the server's FIN) is cut off this way.
		if cc.sentBad == 0 {
			or.clientViolation(cc, "closed for linger-bytes, but it sent no bad input")
		}
	}
}

// finalizeAll is the end of the run: every client left is checked as it is.
func (or *oracle) finalizeAll() {
	or.mu.Lock()
	defer or.mu.Unlock()
	for _, cc := range or.live {
		switch {
		case cc.srv == nil:
			or.clientViolation(cc, "the server never accepted it (backlog stranded?)")
		case !cc.srv.closed:
			or.clientViolation(cc, "the server never closed it")
		case !cc.readerDone || !cc.ownerDone:
			or.clientViolation(cc, "its client never finished")
		}
		or.finalize(cc)
	}
	for addr, q := range or.waitSrv {
		or.violation("%d server connection(s) from %s match no client", len(q), addr)
	}
}

// settled reports whether the order is final: every client the soak made
// was matched, every server connection still open is a survivor's, and the
// oracle finds every survivor's frames in the order and the order in every
// survivor. It says why not, if not.
func (or *oracle) settled(survivors []*clientConn) (bool, string) {
	or.mu.Lock()
	defer or.mu.Unlock()
	if n := len(or.waitCli); n > 0 {
		return false, fmt.Sprintf("%d client address(es) not yet accepted", n)
	}
	isSurvivor := map[*clientConn]bool{}
	for _, cc := range survivors {
		isSurvivor[cc] = true
		or.passSent(cc)
	}
	for _, sc := range or.open {
		if sc.client == nil || !isSurvivor[sc.client] {
			return false, fmt.Sprintf("server connection %s still open", sc.addr)
		}
	}
	return or.stuck()
}

// caughtUp reports whether every open survivor has read the whole order.
func (or *oracle) caughtUp(survivors []*clientConn) (bool, string) {
	or.mu.Lock()
	defer or.mu.Unlock()
	for _, cc := range survivors {
		or.passSent(cc)
	}
	return or.stuck()
}

// stuck asks the oracle whether the history is live. The caller holds mu.
func (or *oracle) stuck() (bool, string) {
	if why := or.o.Stuck(spec.Settled{}); why != "" {
		return false, why
	}
	return true, ""
}

// shutdownBegan tells the oracle the server is being shut down.
func (or *oracle) shutdownBegan() {
	or.mu.Lock()
	defer or.mu.Unlock()
	or.o.ShutdownBegan()
}

// serverClosed reports whether the server has closed cc's connection.
func (or *oracle) serverClosed(cc *clientConn) bool {
	or.mu.Lock()
	defer or.mu.Unlock()
	return cc.srv != nil && cc.srv.closed
}

// openCount is the number of server connections not yet closed.
func (or *oracle) openCount() int {
	or.mu.Lock()
	defer or.mu.Unlock()
	return len(or.open)
}

// progress is a snapshot for the progress line.
type progress struct {
	frames, delivered, violations uint64
	open                          int
}

func (or *oracle) snapshot() progress {
	or.mu.Lock()
	defer or.mu.Unlock()
	return progress{frames: uint64(or.o.Frames()), delivered: or.o.Delivered(), violations: or.o.Violations(), open: len(or.open)}
}
