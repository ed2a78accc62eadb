package netfake

import "time"

// Sides of a connection: index into conn.ep.
const (
	sideServer = 0
	sideClient = 1
)

// endpoint is one side of a TCP connection: its socket buffers and the state
// bits tcp_poll and tcp_recvmsg/tcp_sendmsg look at.
//
// A write puts what the peer's receive window has room for on the wire at
// once, as Linux's tcp_sendmsg pushes it; only the rest waits in snd. Bytes
// on the wire already sit in the peer's rcv ring, behind the bytes that
// arrived (rcv.n counts both, so the window accounts for them), and become
// readable when a transmission step lets them arrive, which is also their
// acknowledgement: until then they count against the sender's send buffer
// (snd.limit covers snd.n plus the peer's wire, as sk_wmem_queued covers
// unacknowledged bytes). A later RST or FIN from the sender travels behind
// them, so an abort right after a write cannot lose what the write sent.
type endpoint struct {
	rcv  ring // bytes that arrived and were not read, then the peer's bytes still on the wire
	snd  ring // bytes written and not sent yet: the peer's window had no room for them
	wire int  // the last wire bytes of rcv have not arrived (nor been acknowledged) yet

	// wndShut: rcv filled up and the window closed; it opens again once
	// half the buffer is free (receiver-side silly-window avoidance: Linux
	// advertises no window below half the buffer when, as on loopback, the
	// MSS is larger than the buffer).
	wndShut bool

	finQueued bool // shutdown(SHUT_WR) or close: SEND_SHUTDOWN; a FIN follows snd
	finSent   bool // the FIN left; it is on the wire until the peer's finRcvd
	finRcvd   bool // the peer's FIN arrived (and was acknowledged): RCV_SHUTDOWN and SOCK_DONE
	reset     bool // RST sent or received: the connection is gone (TCP_CLOSE)
	// unackedAtReset is the count UnackedBytes gave when the RST came: after
	// it nothing is acknowledged, so the count stays (Linux's write_seq -
	// snd_una does), though the purge empties the send queue.
	unackedAtReset int
	err            Errno // pending socket error (sk_err), consumed by the next failing call
	closed         bool  // the owning process closed this side (or never will have it)
	nospace        bool  // SOCK_NOSPACE: a writer found no room; wake it when there is

	// Byte accounts, for the simulator's checks: bytes this side's writes
	// took, bytes that arrived at it, and bytes it wrote that will never
	// arrive (purged by an RST, or sent to a peer that was gone). Its
	// writes always equal the peer's arrivals plus its drops, its unsent
	// bytes and its bytes on the wire.
	wrote, delivered, dropped int
}

func (e *endpoint) rcvShut() bool { return e.finRcvd || e.reset }
func (e *endpoint) sndShut() bool { return e.finQueued || e.reset }

// unread is what a read can return now: the bytes that arrived.
func (e *endpoint) unread() int { return e.rcv.n - e.wire }

// window is how many more bytes the peer may put on the wire to e.
func (e *endpoint) window() int {
	if e.wndShut {
		return 0
	}
	return e.rcv.free()
}

// consumed is called after a read took bytes from rcv: a closed window
// opens again once half the buffer is free.
func (e *endpoint) consumed() {
	if e.wndShut && 2*e.rcv.free() >= e.rcv.limit {
		e.wndShut = false
	}
}

// queued is what side s's send buffer holds: bytes not sent yet and bytes
// on the wire, not acknowledged yet.
func (c *conn) queued(s int) int { return c.ep[s].snd.n + c.ep[1-s].wire }

// sndFree is the room left in side s's send buffer.
func (c *conn) sndFree(s int) int { return max(c.ep[s].snd.limit-c.queued(s), 0) }

// writable is Linux's sk_stream_is_writeable for side s: free space at
// least half of what is queued (sk_stream_min_wspace), and at least one
// byte free.
func (c *conn) writable(s int) bool {
	free := c.sndFree(s)
	return free > 0 && 2*free >= c.queued(s)
}

// conn is one connection: the server's socket, the client's socket, and what
// travels between them. Its Socket and Client live inside it so that a
// connection costs one allocation.
type conn struct {
	k   *Kernel
	id  uint64
	l   *Listener
	ep  [2]endpoint
	rst [2]bool // rst[s]: side s sent an RST that has not reached the other side yet

	sock Socket
	cli  Client

	accepted  bool
	resetSeen bool // Observer.Reset was called
	retired   bool // both sides closed; buffers returned to the pool

	// A connect the listener's full queue dropped: the client retries its
	// SYN at dialDue (see Kernel.Connect).
	dialing   bool
	abandoned bool // the client's ShutdownWrite gave the connect up
	dialTries int  // SYN retransmissions so far
	dialDue   time.Duration
}

// Buffers overrides the socket buffer sizes of one connection (ConnectWith).
// Zero fields take the kernel's Config.
type Buffers struct {
	ServerRecv, ServerSend, ClientRecv, ClientSend int
}

func (k *Kernel) newConn(l *Listener, b Buffers) *conn {
	c := &conn{k: k, id: uint64(len(k.conns)) + 1, l: l}
	pick := func(v, def int) int {
		if v > 0 {
			return v
		}
		return def
	}
	c.ep[sideServer].rcv = ring{limit: pick(b.ServerRecv, k.cfg.RecvBufBytes), pool: &k.pool}
	c.ep[sideServer].snd = ring{limit: pick(b.ServerSend, k.cfg.SendBufBytes), pool: &k.pool}
	c.ep[sideClient].rcv = ring{limit: pick(b.ClientRecv, k.cfg.ClientRecvBufBytes), pool: &k.pool}
	c.ep[sideClient].snd = ring{limit: pick(b.ClientSend, k.cfg.ClientSendBufBytes), pool: &k.pool}
	c.sock = Socket{file: file{k: k, fd: -1, c: c}}
	c.cli = Client{c: c}
	k.conns = append(k.conns, c)
	return c
}

// Step transmits on every live connection, in the order the connections
// were established, client to server first. In each direction bytes that
// were waiting for the receiver's window go on the wire as far as it has
// opened, then an rng-chosen part of the bytes on the wire arrives (all of
// them or a part, as segmentation would), then a FIN once nothing is left
// before it (with the last bytes or at a later Step, rng-chosen), then a
// pending RST.
func (k *Kernel) Step() { k.transmit(false) }

// Flush transmits everything that can move, repeatedly, until nothing more
// can (flow control can still hold bytes back). Drain phases and tests use
// it.
func (k *Kernel) Flush() {
	// Each pass moves bytes, a FIN or an RST, all finite, and space only
	// grows when someone reads, which Flush does not do: the loop ends. The
	// bound is a backstop.
	for i := 0; i < 1000 && k.transmit(true); i++ {
	}
}

// Transmit lets at most maxBytes arrive in each direction of connection
// id (sending bytes that waited for the window first), then the FIN if
// nothing is left before it, and pending RSTs, drawing nothing from the
// rng. It returns whether anything moved. Scripted tests and scenarios use
// it to place bytes exactly.
func (k *Kernel) Transmit(id uint64, maxBytes int) bool {
	if id == 0 || id > uint64(len(k.conns)) || maxBytes < 0 {
		return false
	}
	c := k.conns[id-1]
	if c.retired {
		return false
	}
	a := k.xmit(c, sideClient, maxBytes)
	b := k.xmit(c, sideServer, maxBytes)
	return a || b
}

func (k *Kernel) transmit(full bool) bool {
	moved := false
	live := k.active[:0]
	for _, c := range k.active {
		limit := xmitAll
		if !full {
			limit = xmitRandom
		}
		if k.xmit(c, sideClient, limit) {
			moved = true
		}
		if k.xmit(c, sideServer, limit) {
			moved = true
		}
		if c.ep[sideServer].closed && c.ep[sideClient].closed {
			k.retire(c)
			continue
		}
		live = append(live, c)
	}
	clear(k.active[len(live):])
	k.active = live
	return moved
}

var (
	kindData = [2]Kind{sideServer: KindDataToClient, sideClient: KindDataToServer}
	kindSend = [2]Kind{sideServer: KindSendToClient, sideClient: KindSendToServer}
	kindFIN  = [2]Kind{sideServer: KindFINToClient, sideClient: KindFINToServer}
	kindRST  = [2]Kind{sideServer: KindRSTToClient, sideClient: KindRSTToServer}
)

// Limits for xmit besides a byte count.
const (
	xmitAll    = int(^uint(0) >> 1) // everything that fits
	xmitRandom = -1                 // an rng-chosen part of what fits
)

// xmit moves what side from has sent or queued towards the other side: at
// most limit bytes arrive (or an rng-chosen amount). It reports whether
// anything happened.
func (k *Kernel) xmit(c *conn, from int, limit int) bool {
	to := 1 - from
	src, dst := &c.ep[from], &c.ep[to]
	moved := false
	if src.snd.n > 0 {
		// The window may have opened since the write (the peer read).
		if m := min(src.snd.n, k.wireRoom(c, from)); m > 0 {
			k.record(&Record{Kind: kindSend[from], FD: -1, Conn: c.id, N: int64(m)})
			k.send(c, from, m, nil)
			moved = true
		}
		if src.snd.n == 0 && src.finQueued && !src.reset {
			src.finSent = true
		}
	}
	if w := dst.wire; w > 0 && limit != 0 {
		m := w
		switch {
		case limit == xmitRandom:
			if w > 1 && k.rng.IntN(2) == 1 {
				m = 1 + k.rng.IntN(w)
			}
		case limit < m:
			m = limit
		}
		k.arrive(c, to, m)
		moved = true
	}
	if dst.wire > 0 {
		return moved // a FIN or an RST travels behind the bytes
	}
	if src.finSent && !dst.finRcvd && !dst.reset {
		if moved && limit == xmitRandom && k.rng.IntN(2) == 0 {
			// The FIN may ride with the last bytes or come in a
			// later segment: the reader then sees two edges.
			return true
		}
		k.arriveFIN(c, to)
		moved = true
	}
	if c.rst[from] {
		c.rst[from] = false
		k.record(&Record{Kind: kindRST[from], FD: -1, Conn: c.id})
		k.rstArrive(c, to, ECONNRESET)
		moved = true
	}
	return moved
}

// wireRoom is how many bytes side from may put on the wire now: what the
// peer's window has room for. A peer that is gone takes anything: the
// bytes are lost (and answered with an RST, see send).
func (k *Kernel) wireRoom(c *conn, from int) int {
	dst := &c.ep[1-from]
	if dst.reset || dst.closed {
		return xmitAll
	}
	return dst.window()
}

// writeRoom is how much of a total-byte write side from can take now (what
// its send buffer has room for), and how much of that goes on the wire at
// once: what the peer's window takes, unless bytes already wait in the
// send buffer (they go first).
func (k *Kernel) writeRoom(c *conn, from, total int) (wire, room int) {
	room = min(total, c.sndFree(from))
	if c.ep[from].snd.n == 0 {
		wire = min(room, k.wireRoom(c, from))
	}
	return wire, room
}

// take puts p on the wire as far as wire allows and queues the rest in the
// send buffer, which has room for it (writeRoom). It returns how much went
// on the wire.
func (k *Kernel) take(c *conn, from int, p []byte, wire int) int {
	w := min(len(p), wire)
	if w > 0 {
		k.send(c, from, w, p)
	}
	c.ep[from].snd.write(p[w:])
	c.ep[from].wrote += len(p)
	return w
}

// resettable reports whether an injected RST can hit c: not once it is
// reset, nor once both FINs crossed (no connection is left to reset).
func (k *Kernel) resettable(c *conn) bool {
	return !c.ep[sideServer].reset && !c.finsCrossed()
}

// send puts m bytes of side from on the wire: from p if p is not nil (a
// write, straight from the caller's buffer), else from the head of its send
// buffer. m is at most wireRoom. Bytes for a peer that reset are lost with
// the RST on its way; bytes for a socket nobody will read are answered with
// an RST (tcp_rcv_state_process on a closed socket).
func (k *Kernel) send(c *conn, from int, m int, p []byte) {
	to := 1 - from
	src, dst := &c.ep[from], &c.ep[to]
	if dst.reset || dst.closed {
		src.dropped += m
		if from == sideServer {
			k.observeLost(c, m)
		}
		if p == nil {
			src.snd.drop(m)
			k.spaceFreed(c, from)
		}
		k.record(&Record{Kind: kindData[from], FD: -1, Conn: c.id, N: int64(m), Err: ECONNRESET})
		if !dst.reset {
			k.sendRST(c, to)
		}
		return
	}
	if p == nil {
		src.snd.moveTo(&dst.rcv, m)
	} else {
		dst.rcv.write(p[:m])
	}
	dst.wire += m
	if dst.rcv.free() == 0 {
		dst.wndShut = true
	}
}

// arrive makes the first m bytes on the wire to side to readable; their
// acknowledgement frees room in the sender's send buffer.
func (k *Kernel) arrive(c *conn, to int, m int) {
	dst := &c.ep[to]
	wasEmpty := dst.unread() == 0
	dst.wire -= m
	dst.delivered += m
	k.record(&Record{Kind: kindData[1-to], FD: -1, Conn: c.id, N: int64(m)})
	if to == sideServer && (wasEmpty || k.cfg.Edge == EdgeLinux) {
		k.wakeConn(c, wakeData)
	}
	k.spaceFreed(c, 1-to)
}

// spaceFreed is sk_stream_write_space for side s, after an acknowledgement
// (or a loss) emptied part of its send buffer: a writer that ran out of
// room is woken once the socket is writable again.
func (k *Kernel) spaceFreed(c *conn, s int) {
	if s == sideServer && c.ep[s].nospace && c.writable(s) {
		c.ep[s].nospace = false
		k.wakeConn(c, wakeSpace)
	}
}

// arriveFIN delivers side from's FIN, which was on the wire, to side to.
func (k *Kernel) arriveFIN(c *conn, to int) {
	k.record(&Record{Kind: kindFIN[1-to], FD: -1, Conn: c.id})
	c.ep[to].finRcvd = true
	if to == sideServer {
		k.wakeConn(c, wakeFIN)
	} else {
		// The FIN's ACK is a state change (FIN_WAIT1 -> FIN_WAIT2,
		// or LAST_ACK -> CLOSE) and Linux wakes the socket for it.
		k.wakeConn(c, wakeState)
	}
}

// land delivers everything on the wire from side from to the other side,
// bytes and then the FIN: what an RST overtakes nothing of.
func (k *Kernel) land(c *conn, from int) {
	to := 1 - from
	dst := &c.ep[to]
	if dst.wire > 0 {
		k.arrive(c, to, dst.wire)
	}
	if c.ep[from].finSent && !dst.finRcvd && !dst.reset {
		k.arriveFIN(c, to)
	}
}

// queueFIN marks side s's FIN as due after the bytes already written: it
// leaves at once if nothing waits for the window, else once snd drains.
func (k *Kernel) queueFIN(c *conn, s int) {
	e := &c.ep[s]
	e.finQueued = true
	if e.snd.n == 0 {
		e.finSent = true
	}
}

// finsCrossed reports whether both FINs arrived: both sides are closed
// (TIME_WAIT or CLOSED, TCP_CLOSE to the socket), so an abort sends nothing
// and shutdown fails with ENOTCONN.
func (c *conn) finsCrossed() bool {
	return c.ep[sideServer].finRcvd && c.ep[sideClient].finRcvd
}

// rstArrive delivers an RST to side to, as tcp_reset does: a pending error
// (EPIPE if the peer had already sent its FIN and this side had not, as in
// CLOSE_WAIT; ECONNRESET otherwise), the send queue purged, and both
// directions shut. Bytes already in the receive buffer stay readable, as on
// Linux; Read returns them before the error.
func (k *Kernel) rstArrive(c *conn, to int, errno Errno) {
	e := &c.ep[to]
	if e.reset {
		return
	}
	e.unackedAtReset = c.unacked(to)
	e.reset = true
	e.nospace = false
	k.purge(c, to)
	if e.closed {
		k.discard(c, to)
		return
	}
	if errno == ECONNRESET && e.finRcvd && !e.finQueued {
		errno = EPIPE
	}
	e.err = errno
	if to == sideServer {
		k.wakeConn(c, wakeRST)
	}
}

// sendRST makes side s abort the connection: its queues are discarded and
// an RST follows what s already put on the wire. After both FINs crossed
// there is no connection left to abort, and nothing is sent (tcp_close on
// a TCP_CLOSE socket). It reports whether an RST went out.
func (k *Kernel) sendRST(c *conn, s int) bool {
	e := &c.ep[s]
	if e.reset {
		return false
	}
	e.nospace = false
	e.err = OK
	k.purge(c, s)
	k.discard(c, s)
	if c.finsCrossed() {
		return false
	}
	e.reset = true
	if !c.ep[1-s].reset {
		c.rst[s] = true
	}
	return true
}

// injectReset resets the connection from outside (a fault): what is on the
// wire arrives, then both sides get an RST, as if a middlebox or the peer's
// kernel had sent one.
func (k *Kernel) injectReset(c *conn, serverErr Errno) {
	k.land(c, sideServer)
	k.land(c, sideClient)
	k.rstArrive(c, sideClient, ECONNRESET)
	k.rstArrive(c, sideServer, serverErr)
	c.rst = [2]bool{}
}

// purge drops what side s still had waiting for the window: it is lost.
func (k *Kernel) purge(c *conn, s int) {
	e := &c.ep[s]
	e.dropped += e.snd.n
	if s == sideServer {
		k.observeLost(c, e.snd.n)
	}
	e.snd.drop(e.snd.n)
}

// discard drops side s's receive buffer, what arrived and what was still
// on the wire to it (lost to its sender).
func (k *Kernel) discard(c *conn, s int) {
	e := &c.ep[s]
	c.ep[1-s].dropped += e.wire
	if s == sideClient {
		k.observeLost(c, e.wire)
	}
	e.rcv.drop(e.rcv.n)
	e.wire = 0
}

func (k *Kernel) retire(c *conn) {
	c.retired = true
	c.rst = [2]bool{}
	for i := range c.ep {
		k.purge(c, i)
		k.discard(c, i)
		c.ep[i].rcv.release()
		c.ep[i].snd.release()
	}
}

// ConnInfo is the state of one connection, for the simulator's checks.
type ConnInfo struct {
	ID         uint64
	FD         int  // the server's fd while accepted and open, else -1
	InBacklog  bool // waiting in the listener's accept queue
	Accepted   bool
	Connecting bool // the client's connect is in progress (its SYN was dropped)

	ServerClosed, ClientClosed   bool // the owner closed that side
	ServerReset, ClientReset     bool // that side sent or received an RST
	ServerFINSent, ClientFINSent bool // that side's FIN was transmitted
	ServerEOF, ClientEOF         bool // that side received the peer's FIN

	ServerUnsent, ClientUnsent     int // bytes in that side's send buffer: written, waiting for the peer's window
	ServerInFlight, ClientInFlight int // bytes that side sent that are on the wire: not arrived, not acknowledged
	ServerUnread, ClientUnread     int // bytes that arrived at that side and were not read

	// Byte accounts: what each side's writes took, what arrived at each
	// side (read or not), and what each side wrote that will never arrive
	// (purged by an RST before it was sent, discarded on the wire by a
	// peer's reset or close, or sent to a peer that was gone). For each
	// side, Wrote = the peer's Delivered + Dropped + Unsent + InFlight.
	ServerWrote, ClientWrote         int
	ServerDelivered, ClientDelivered int
	ServerDropped, ClientDropped     int

	Retired bool // both sides closed; nothing left to move
}

// Conn returns the state of connection id (ids start at 1).
func (k *Kernel) Conn(id uint64) (ConnInfo, bool) {
	if id == 0 || id > uint64(len(k.conns)) {
		return ConnInfo{}, false
	}
	c := k.conns[id-1]
	s, cl := &c.ep[sideServer], &c.ep[sideClient]
	fd := -1
	if c.sock.open {
		fd = int(c.sock.fd)
	}
	return ConnInfo{
		ID: c.id, FD: fd, InBacklog: !c.accepted && !s.closed && !c.dialing, Accepted: c.accepted,
		Connecting:   c.dialing,
		ServerClosed: s.closed, ClientClosed: cl.closed,
		ServerReset: s.reset, ClientReset: cl.reset,
		ServerFINSent: s.finSent, ClientFINSent: cl.finSent,
		ServerEOF: s.finRcvd, ClientEOF: cl.finRcvd,
		ServerUnsent: s.snd.n, ClientUnsent: cl.snd.n,
		ServerInFlight: cl.wire, ClientInFlight: s.wire,
		ServerUnread: s.unread(), ClientUnread: cl.unread(),
		ServerWrote: s.wrote, ClientWrote: cl.wrote,
		ServerDelivered: s.delivered, ClientDelivered: cl.delivered,
		ServerDropped: s.dropped, ClientDropped: cl.dropped,
		Retired: c.retired,
	}, true
}

// Conns returns how many connections were ever made (ids run 1..Conns()).
func (k *Kernel) Conns() int { return len(k.conns) }

// LiveConns returns how many connections are not yet retired (a side still
// open, or retirement not yet noticed by a Step or Flush).
func (k *Kernel) LiveConns() int { return len(k.active) }

// Unsent returns the bytes written on live connections that have not
// arrived yet: waiting in send buffers or on the wire.
func (k *Kernel) Unsent() int {
	t := 0
	for _, c := range k.active {
		for i := range c.ep {
			t += c.ep[i].snd.n + c.ep[i].wire
		}
	}
	return t
}
