package netfake

import (
	"time"

	"github.com/mobsim/mobsim/kernel"
)

// file is what an fd refers to, and its poller registration (one per file,
// as with epoll_ctl on one epoll instance).
type file struct {
	k    *Kernel
	fd   int32
	open bool
	c    *conn     // the connection, for a socket
	l    *Listener // the listener, for a listening socket

	regd   bool
	tok    kernel.Token
	in     kernel.Interest
	regIdx int // index in Kernel.regList while regd

	// Pending wake-ups since the last Poll that reported this file:
	// read side, write side, and an RST (hang-up and error, reported
	// whatever the interest, as epoll always reports EPOLLHUP|EPOLLERR).
	pendR, pendW, pendE bool
	queued              bool // in Kernel.ready
}

// wake says why a registration is woken, as the kernel's wake-up callers do.
type wake uint8

const (
	wakeData  wake = iota // bytes arrived (sk_data_ready), or a connection for a listener
	wakeSpace             // send space freed after a writer ran out (sk_write_space)
	wakeFIN               // the peer's FIN arrived (sk_state_change)
	wakeState             // a state change with no key (sk_state_change): our FIN was acknowledged, or shutdown(2) was called; Linux only
	wakeRST               // an RST arrived (sk_error_report)
)

func (k *Kernel) wakeConn(c *conn, w wake) {
	if c.accepted && c.sock.open && c.sock.regd {
		k.wake(&c.sock.file, w)
	}
}

// wake marks f as having an edge. Like ep_poll_callback, a wake-up whose
// kind the registration did not ask for is ignored, except state changes,
// which Linux delivers with no key and lets tcp_poll decide at Poll time.
func (k *Kernel) wake(f *file, w wake) {
	linuxEpoll := k.cfg.Edge == EdgeLinux && k.cfg.Batch == BatchEpoll
	switch w {
	case wakeData:
		if f.in&kernel.InterestRead == 0 {
			return
		}
		f.pendR = true
	case wakeSpace:
		if f.in&kernel.InterestWrite == 0 {
			return
		}
		f.pendW = true
	case wakeFIN:
		switch {
		case linuxEpoll:
			f.pendR, f.pendW = true, true
		case f.in&kernel.InterestRead != 0:
			f.pendR = true
		default:
			return
		}
	case wakeState:
		if !linuxEpoll {
			return
		}
		f.pendR, f.pendW = true, true
	case wakeRST:
		f.pendR, f.pendW, f.pendE = true, true, true
	}
	if !f.queued {
		f.queued = true
		k.ready = append(k.ready, f)
	}
}

func (k *Kernel) fileOf(src kernel.Source) *file {
	switch s := src.(type) {
	case *Socket:
		if s != nil && s.k == k {
			return &s.file
		}
	case *Listener:
		if s != nil && s.k == k {
			return &s.file
		}
	}
	return nil
}

// Register attaches src (a *Socket or *Listener of this kernel) with tok and
// in. The registration is edge-triggered. In linux mode it reports the
// current readiness at once, as EPOLL_CTL_ADD does; in strict mode the
// initial writable edge and, unless Config.StrictNoInitialRead, a readable
// edge if there is something to read.
func (k *Kernel) Register(src kernel.Source, tok kernel.Token, in kernel.Interest) error {
	return k.ctl(opRegister, src, tok, in)
}

// Reregister changes the token and interest of a registration. Like
// EPOLL_CTL_MOD it re-evaluates readiness, as Register does.
func (k *Kernel) Reregister(src kernel.Source, tok kernel.Token, in kernel.Interest) error {
	return k.ctl(opReregister, src, tok, in)
}

// Deregister detaches src. Its pending edges are dropped.
func (k *Kernel) Deregister(src kernel.Source) error {
	return k.ctl(opDeregister, src, 0, 0)
}

func (k *Kernel) ctl(o op, src kernel.Source, tok kernel.Token, in kernel.Interest) error {
	rec := Record{Kind: KindRegister, FD: -1, Token: tok, Ready: kernel.Ready(in)}
	switch o {
	case opReregister:
		rec.Kind = KindReregister
	case opDeregister:
		rec.Kind = KindDeregister
	}
	f := k.fileOf(src)
	switch {
	case f == nil:
		rec.Err = EINVAL
	case !f.open:
		rec.Err = EBADF
	case o == opRegister && f.regd:
		rec.Err = EEXIST
	case o != opRegister && !f.regd:
		rec.Err = ENOENT
	}
	if f != nil {
		rec.FD = f.fd
		if f.c != nil {
			rec.Conn = f.c.id
		}
	}
	if rec.Err != OK {
		k.record(&rec)
		return errOf(o, rec.Err)
	}
	switch o {
	case opRegister:
		f.regd = true
		f.regIdx = len(k.regList)
		k.regList = append(k.regList, f)
		f.tok, f.in = tok, in
		k.initialEdge(f)
	case opReregister:
		f.tok, f.in = tok, in
		k.initialEdge(f)
	case opDeregister:
		rec.Token = f.tok
		k.unregister(f)
	}
	k.record(&rec)
	k.worked(0)
	return nil
}

// initialEdge gives a (re)registration its first edge. Linux polls the file
// (ep_item_poll) and queues it if anything in the interest is ready; strict
// mode gives the writable edge the contract promises and, unless
// StrictNoInitialRead, a readable edge if something is there to read.
func (k *Kernel) initialEdge(f *file) {
	if k.cfg.Edge == EdgeLinux {
		r, w, h := k.bits(f, true)
		if r|w|h == 0 {
			return
		}
		f.pendR = f.pendR || r|h != 0
		f.pendW = f.pendW || w|h != 0
	} else {
		// Data (or a connection, FIN or error) already there is
		// reported at registration, as epoll and kqueue both do, unless
		// the configuration asks for the contract's letter.
		if f.in&kernel.InterestRead != 0 && !k.cfg.StrictNoInitialRead {
			if r, _, h := k.bits(f, false); r|h != 0 {
				f.pendR = true
			}
		}
		if f.in&kernel.InterestWrite != 0 && f.c != nil {
			e := &f.c.ep[sideServer]
			switch {
			case e.sndShut():
			case f.c.writable(sideServer):
				f.pendW = true
			default:
				e.nospace = true // the edge comes when there is room (as on Linux)
			}
		}
		if !f.pendR && !f.pendW {
			return
		}
	}
	if !f.queued {
		f.queued = true
		k.ready = append(k.ready, f)
	}
}

// unregister drops f's registration; a queued entry is discarded by the
// next Poll. The token is remembered for stale-token faults.
func (k *Kernel) unregister(f *file) {
	if !f.regd {
		return
	}
	last := len(k.regList) - 1
	moved := k.regList[last]
	k.regList[f.regIdx] = moved
	moved.regIdx = f.regIdx
	k.regList[last] = nil
	k.regList = k.regList[:last]
	f.regd = false
	f.pendR, f.pendW, f.pendE = false, false, false
	k.stale[k.staleAt] = f.tok
	k.staleAt = (k.staleAt + 1) % len(k.stale)
	k.staleN = min(k.staleN+1, len(k.stale))
}

// bits computes what tcp_poll (or the listener's poll) reports for f,
// split into read-side bits r, write-side bits w and hang-up/error bits h,
// already filtered by f's interest. In linux mode it also has tcp_poll's
// side effect: a socket that is not writable gets SOCK_NOSPACE, so a
// writable edge follows when room appears.
func (k *Kernel) bits(f *file, linux bool) (r, w, h kernel.Ready) {
	if f.c == nil {
		if f.in&kernel.InterestRead != 0 && len(f.l.backlog) > 0 {
			r = kernel.ReadyRead
		}
		return r, 0, 0
	}
	e := &f.c.ep[sideServer]
	rcvShut, sndShut := e.rcvShut(), e.sndShut()
	// A FIN makes the socket readable on Linux (EPOLLIN with EPOLLRDHUP);
	// strict mode only hints it. The hint does not need read interest:
	// netpoll registers EPOLLRDHUP with every interest.
	if f.in&kernel.InterestRead != 0 && (e.rcv.n > 0 || (linux && rcvShut)) {
		r |= kernel.ReadyRead
	}
	if rcvShut {
		r |= kernel.ReadyReadClosed
	}
	writable := f.c.writable(sideServer)
	if f.in&kernel.InterestWrite != 0 {
		// After shutdown(SHUT_WR) or a reset Linux reports EPOLLOUT (a
		// write fails at once); strict mode does not.
		if (writable && !sndShut) || (linux && sndShut) {
			w |= kernel.ReadyWrite
		}
	}
	if rcvShut && sndShut {
		h |= kernel.ReadyReadClosed | kernel.ReadyWriteClosed // EPOLLHUP
	}
	if e.err != OK {
		h |= kernel.ReadyError // EPOLLERR
	}
	if linux && !sndShut && !writable {
		e.nospace = true
	}
	return r, w, h
}

// Poll hands out pending edges: at most len(events), picked in an
// rng-chosen order; the rest stay pending. Each registration's edge is
// consumed when reported (edge-triggered). With no edge pending, a
// timeout > 0 waits on the virtual clock: it advances to the first SYN
// retry that gives an edge within the timeout and returns that, or by the
// whole timeout and returns 0. A timeout <= 0 returns 0 at once without
// moving the clock: the simulator owns time, so "wait forever" means
// "return to the simulator".
func (k *Kernel) Poll(events []kernel.Event, timeout time.Duration) (int, error) {
	rec := Record{Kind: KindPoll, FD: -1}
	if len(events) == 0 {
		rec.Err = EINVAL
		k.record(&rec)
		return 0, errOf(opPoll, EINVAL)
	}
	if k.chance(k.faults.Interrupt) {
		k.faultsInjected[FaultInterrupt]++
		rec.Err, rec.Fault = EINTR, FaultInterrupt
		k.record(&rec)
		return 0, kernel.ErrInterrupted
	}
	k.batch, k.batchFault = k.batch[:0], k.batchFault[:0]
	n := k.collect(events)
	n = k.spurious(events, n)
	if n == 0 && timeout > 0 {
		n = k.wait(events, timeout)
	}
	rec.N = int64(n)
	k.record(&rec)
	for i := 0; i < n; i++ {
		er := Record{Kind: KindEvent, FD: -1, Token: events[i].Token, Ready: events[i].Ready}
		if f := k.batch[i]; f != nil {
			er.FD = f.fd
			if f.c != nil {
				er.Conn = f.c.id
			}
		}
		er.Fault = k.batchFault[i]
		k.record(&er)
	}
	return n, nil
}

// wait advances the clock by up to timeout with nothing ready, stopping at
// the first SYN retry that leaves an edge, and returns the events then
// collected.
func (k *Kernel) wait(events []kernel.Event, timeout time.Duration) int {
	deadline := k.now + timeout
	for {
		due, ok := k.nextDial()
		if !ok || due > deadline {
			break
		}
		k.Advance(due - k.now)
		if n := k.collect(events); n > 0 {
			return n
		}
	}
	k.Advance(deadline - k.now)
	return 0
}

// collect moves pending edges into events, in an rng-chosen order.
func (k *Kernel) collect(events []kernel.Event) int {
	n := 0
	for i := 0; i < len(k.ready) && n < len(events); i++ {
		if left := len(k.ready) - i; left > 1 {
			j := i + k.rng.IntN(left)
			k.ready[i], k.ready[j] = k.ready[j], k.ready[i]
		}
		n = k.emit(k.ready[i], events, n)
	}
	keep := 0
	for _, f := range k.ready {
		if f.queued {
			k.ready[keep] = f
			keep++
		}
	}
	clear(k.ready[keep:])
	k.ready = k.ready[:keep]
	if k.cfg.Batch == BatchKqueue {
		// emit puts a token's read and write events side by side.
		for i := n - 1; i > 0; i-- {
			j := k.rng.IntN(i + 1)
			events[i], events[j] = events[j], events[i]
			k.batch[i], k.batch[j] = k.batch[j], k.batch[i]
			k.batchFault[i], k.batchFault[j] = k.batchFault[j], k.batchFault[i]
		}
	}
	return n
}

// emit reports f's pending edge into events[n:] and returns the new n.
func (k *Kernel) emit(f *file, events []kernel.Event, n int) int {
	if !f.regd || !f.open {
		f.pendR, f.pendW, f.pendE, f.queued = false, false, false, false
		return n
	}
	linux := k.cfg.Edge == EdgeLinux
	r, w, h := k.bits(f, linux)
	var rb, wb kernel.Ready
	if k.cfg.Batch == BatchEpoll {
		if linux {
			rb = r | w | h // ep_send_events reports the whole current mask
		} else {
			if f.pendR {
				rb |= r
			}
			if f.pendW {
				rb |= w
			}
			if rb != 0 || f.pendE {
				rb |= h
			}
		}
		f.pendR, f.pendW, f.pendE = false, false, false
	} else {
		if (f.pendR || f.pendE) && f.in&kernel.InterestRead != 0 {
			rb = r | h
		}
		if (f.pendW || f.pendE) && f.in&kernel.InterestWrite != 0 {
			wb = w | h
		}
		f.pendR, f.pendE = false, false
		if wb == 0 || n+btoi(rb != 0) < len(events) {
			f.pendW = false
		}
	}
	if rb != 0 {
		n = k.put(events, n, f, f.tok, rb, FaultNone)
	}
	if wb != 0 && n < len(events) {
		n = k.put(events, n, f, f.tok, wb, FaultNone)
	}
	f.queued = f.pendR || f.pendW || f.pendE
	return n
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// put stores one event and remembers which file (nil if none) and fault it
// came from, for the trace.
func (k *Kernel) put(events []kernel.Event, n int, f *file, tok kernel.Token, r kernel.Ready, fault Fault) int {
	events[n] = kernel.Event{Token: tok, Ready: r}
	k.batch = append(k.batch[:n], f)
	k.batchFault = append(k.batchFault[:n], fault)
	return n + 1
}

// spurious adds the Poll faults: an event for a live registration that may
// not be ready, and an event for a stale or never-used token or a duplicate
// of one already in the batch. Each goes to a random place in the batch.
func (k *Kernel) spurious(events []kernel.Event, n int) int {
	if n < len(events) && len(k.regList) > 0 && k.chance(k.faults.SpuriousReady) {
		f := k.regList[k.rng.IntN(len(k.regList))]
		var r kernel.Ready
		switch f.in & (kernel.InterestRead | kernel.InterestWrite) {
		case kernel.InterestRead:
			r = kernel.ReadyRead
		case kernel.InterestWrite:
			r = kernel.ReadyWrite
		default:
			r = kernel.Ready(1 + k.rng.IntN(3)) // R, W or both
			if k.cfg.Batch == BatchKqueue && r == kernel.ReadyRead|kernel.ReadyWrite {
				r = kernel.ReadyRead
			}
		}
		if f.in != 0 {
			k.faultsInjected[FaultSpuriousReady]++
			n = k.putRandom(events, n, f, f.tok, r, FaultSpuriousReady)
		}
	}
	if n < len(events) && k.chance(k.faults.SpuriousToken) {
		k.faultsInjected[FaultSpuriousToken]++
		r := kernel.Ready(1 + k.rng.IntN(31))
		switch pick := k.rng.IntN(3); {
		case pick == 0 && k.staleN > 0:
			tok := k.stale[k.rng.IntN(k.staleN)]
			n = k.putRandom(events, n, nil, tok, r, FaultSpuriousToken)
		case pick == 1 && n > 0:
			i := k.rng.IntN(n)
			n = k.putRandom(events, n, k.batch[i], events[i].Token, events[i].Ready, FaultSpuriousToken)
		default:
			n = k.putRandom(events, n, nil, kernel.Token(k.rng.Uint64()), r, FaultSpuriousToken)
		}
	}
	return n
}

func (k *Kernel) putRandom(events []kernel.Event, n int, f *file, tok kernel.Token, r kernel.Ready, fault Fault) int {
	n = k.put(events, n, f, tok, r, fault)
	j := k.rng.IntN(n)
	last := n - 1
	events[last], events[j] = events[j], events[last]
	k.batch[last], k.batch[j] = k.batch[j], k.batch[last]
	k.batchFault[last], k.batchFault[j] = k.batchFault[j], k.batchFault[last]
	return n
}
