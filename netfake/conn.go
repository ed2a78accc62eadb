package netfake

// Sides of a connection: index into conn.ep.
const (
	sideServer = 0
	sideClient = 1
)

// endpoint is one side of a TCP connection: its socket buffers and the state
// bits tcp_poll and tcp_recvmsg/tcp_sendmsg look at.
type endpoint struct {
	rcv ring // bytes that arrived and were not read yet
	snd ring // bytes written and not yet transmitted

	finQueued bool  // shutdown(SHUT_WR) or close: SEND_SHUTDOWN; a FIN follows snd
	finSent   bool  // the FIN left (it reached the peer in the same step)
	finRcvd   bool  // the peer's FIN arrived: RCV_SHUTDOWN and SOCK_DONE
	reset     bool  // RST sent or received: the connection is gone (TCP_CLOSE)
	err       Errno // pending socket error (sk_err), consumed by the next failing call
	closed    bool  // the owning process closed this side (or never will have it)
	nospace   bool  // SOCK_NOSPACE: a writer found no room; wake it when there is
}

func (e *endpoint) rcvShut() bool { return e.finRcvd || e.reset }
func (e *endpoint) sndShut() bool { return e.finQueued || e.reset }

// writable is Linux's sk_stream_is_writeable: free space at least half of
// what is queued (sk_stream_min_wspace), and at least one byte free.
func (e *endpoint) writable() bool {
	free := e.snd.free()
	return free > 0 && 2*free >= e.snd.n
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
	k.active = append(k.active, c)
	return c
}

// Step transmits on every live connection, in connection-id order, client
// to server first: each direction moves an rng-chosen amount of what fits in
// the receiver's buffer (all of it or a part, as segmentation would), then a
// FIN once the send buffer is empty (with the last bytes or at a later
// Step, rng-chosen), and delivers pending RSTs.
func (k *Kernel) Step() { k.transmit(false) }

// Flush transmits everything that fits, repeatedly, until nothing more can
// move (flow control can still hold bytes back). Drain phases and tests use
// it.
func (k *Kernel) Flush() {
	// Each pass moves bytes, a FIN or an RST, all finite, and space only
	// grows when someone reads, which Flush does not do: the loop ends. The
	// bound is a backstop.
	for i := 0; i < 1000 && k.transmit(true); i++ {
	}
}

// Transmit moves at most maxBytes in each direction of connection id, then
// the FIN if the send buffer emptied, and pending RSTs, drawing nothing
// from the rng. It returns whether anything moved. Scripted tests and
// scenarios use it to place bytes exactly.
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
	kindFIN  = [2]Kind{sideServer: KindFINToClient, sideClient: KindFINToServer}
	kindRST  = [2]Kind{sideServer: KindRSTToClient, sideClient: KindRSTToServer}
)

// Limits for xmit besides a byte count.
const (
	xmitAll    = int(^uint(0) >> 1) // everything that fits
	xmitRandom = -1                 // an rng-chosen part of what fits
)

// xmit moves what side from has to send towards the other side, at most
// limit bytes (or an rng-chosen amount). It reports whether anything
// happened.
func (k *Kernel) xmit(c *conn, from int, limit int) bool {
	to := 1 - from
	src, dst := &c.ep[from], &c.ep[to]
	if c.rst[from] {
		// The sender purged its queues when it sent the RST, so the RST
		// is all that is left to deliver in this direction.
		c.rst[from] = false
		k.record(&Record{Kind: kindRST[from], FD: -1, Conn: c.id})
		k.rstArrive(c, to, ECONNRESET)
		return true
	}
	moved := false
	if src.snd.n > 0 {
		switch {
		case dst.reset:
			// An RST from dst is on its way and will purge this anyway.
			m := src.snd.n
			src.snd.drop(m)
			k.record(&Record{Kind: kindData[from], FD: -1, Conn: c.id, N: int64(m), Err: ECONNRESET})
			moved = true
		case dst.closed:
			// Data for a socket nobody will read: the kernel answers
			// with an RST (tcp_rcv_state_process on a closed socket).
			m := src.snd.n
			src.snd.drop(m)
			k.record(&Record{Kind: kindData[from], FD: -1, Conn: c.id, N: int64(m), Err: ECONNRESET})
			k.sendRST(c, to)
			moved = true
		default:
			avail := min(src.snd.n, dst.rcv.free())
			if limit >= 0 {
				avail = min(avail, limit)
			}
			if avail > 0 {
				m := avail
				if limit == xmitRandom && avail > 1 && k.rng.IntN(2) == 1 {
					m = 1 + k.rng.IntN(avail)
				}
				wasEmpty := dst.rcv.n == 0
				src.snd.moveTo(&dst.rcv, m)
				k.record(&Record{Kind: kindData[from], FD: -1, Conn: c.id, N: int64(m)})
				if to == sideServer && (wasEmpty || k.cfg.Edge == EdgeLinux) {
					k.wakeConn(c, wakeData)
				}
				if from == sideServer && src.nospace && src.writable() {
					// sk_stream_write_space: the ACK freed enough room.
					src.nospace = false
					k.wakeConn(c, wakeSpace)
				}
				moved = true
			}
		}
	}
	if src.snd.n == 0 && src.finQueued && !src.finSent && !src.reset {
		if moved && limit == xmitRandom && k.rng.IntN(2) == 0 {
			// The FIN may ride with the last bytes or come in a
			// later segment: the reader then sees two edges.
			return true
		}
		src.finSent = true
		k.record(&Record{Kind: kindFIN[from], FD: -1, Conn: c.id})
		if !dst.reset {
			dst.finRcvd = true
			if to == sideServer {
				k.wakeConn(c, wakeFIN)
			}
		}
		if from == sideServer {
			// The FIN's ACK is a state change (FIN_WAIT1 -> FIN_WAIT2,
			// or LAST_ACK -> CLOSE) and Linux wakes the socket for it.
			k.wakeConn(c, wakeState)
		}
		moved = true
	}
	return moved
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
	e.reset = true
	e.nospace = false
	e.snd.drop(e.snd.n)
	if e.closed {
		e.rcv.drop(e.rcv.n)
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

// sendRST makes side s abort the connection: its queues are discarded and an
// RST goes to the other side at the next transmission.
func (k *Kernel) sendRST(c *conn, s int) {
	e := &c.ep[s]
	if e.reset {
		return
	}
	e.reset = true
	e.nospace = false
	e.err = OK
	e.snd.drop(e.snd.n)
	e.rcv.drop(e.rcv.n)
	peer := &c.ep[1-s]
	if !peer.reset {
		c.rst[s] = true
	}
}

// injectReset resets the connection from outside (a fault): both sides get
// an RST now, as if a middlebox or the peer's kernel had sent one.
func (k *Kernel) injectReset(c *conn, serverErr Errno) {
	k.rstArrive(c, sideClient, ECONNRESET)
	k.rstArrive(c, sideServer, serverErr)
	c.rst = [2]bool{}
}

func (k *Kernel) retire(c *conn) {
	c.retired = true
	c.rst = [2]bool{}
	for i := range c.ep {
		c.ep[i].rcv.release()
		c.ep[i].snd.release()
	}
}

// ConnInfo is the state of one connection, for the simulator's checks.
type ConnInfo struct {
	ID        uint64
	FD        int  // the server's fd while accepted and open, else -1
	InBacklog bool // waiting in the listener's accept queue
	Accepted  bool

	ServerClosed, ClientClosed   bool // the owner closed that side
	ServerReset, ClientReset     bool // that side sent or received an RST
	ServerFINSent, ClientFINSent bool // that side's FIN was transmitted
	ServerEOF, ClientEOF         bool // that side received the peer's FIN

	ServerUnsent, ClientUnsent int  // bytes in that side's send buffer
	ServerUnread, ClientUnread int  // bytes in that side's receive buffer
	Retired                    bool // both sides closed; nothing left to move
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
		ID: c.id, FD: fd, InBacklog: !c.accepted && !s.closed, Accepted: c.accepted,
		ServerClosed: s.closed, ClientClosed: cl.closed,
		ServerReset: s.reset, ClientReset: cl.reset,
		ServerFINSent: s.finSent, ClientFINSent: cl.finSent,
		ServerEOF: s.finRcvd, ClientEOF: cl.finRcvd,
		ServerUnsent: s.snd.n, ClientUnsent: cl.snd.n,
		ServerUnread: s.rcv.n, ClientUnread: cl.rcv.n,
		Retired: c.retired,
	}, true
}

// Conns returns how many connections were ever made (ids run 1..Conns()).
func (k *Kernel) Conns() int { return len(k.conns) }

// LiveConns returns how many connections are not yet retired (a side still
// open, or retirement not yet noticed by a Step or Flush).
func (k *Kernel) LiveConns() int { return len(k.active) }

// Unsent returns the bytes waiting in send buffers of live connections.
func (k *Kernel) Unsent() int {
	t := 0
	for _, c := range k.active {
		t += c.ep[sideServer].snd.n + c.ep[sideClient].snd.n
	}
	return t
}
