package netfake

// Client is the simulator's end of a connection: another process, not
// counted against FDMax and not a server syscall, but traced as client
// actions. It is non-blocking like the server's side.
type Client struct {
	c *conn
}

// ID returns the connection id (ids start at 1 and are never reused).
func (cl *Client) ID() uint64 { return cl.c.id }

func (cl *Client) ep() *endpoint { return &cl.c.ep[sideClient] }

// Write sends as much of p as there is room for, as the server's Write
// does: the server's receive window first, then the client's send buffer.
// ErrWouldBlock when both are full or while the connect is in progress,
// EPIPE after ShutdownWrite, ECONNRESET or EPIPE after a reset, the
// connect's error if it failed, EBADF after Close or Reset.
func (cl *Client) Write(p []byte) (int, error) {
	k, e := cl.c.k, cl.ep()
	rec := Record{Kind: KindClientWrite, FD: -1, Conn: cl.c.id}
	n := 0
	switch wire, room := k.writeRoom(cl.c, sideClient, len(p)); {
	case e.closed:
		rec.Err = EBADF
	case cl.c.dialing:
		rec.Err = EAGAIN // sk_stream_wait_connect without a timeout
	case e.err != OK:
		rec.Err, e.err = e.err, OK
	case e.sndShut():
		rec.Err = EPIPE
	case len(p) == 0:
	case room == 0:
		rec.Err = EAGAIN
	default:
		n = room
		k.take(cl.c, sideClient, p[:n], wire)
	}
	rec.N = int64(n)
	k.record(&rec)
	return n, errOf(opClientWrite, rec.Err)
}

// Read reads what has arrived: bytes first, then io.EOF after the server's
// FIN, or ECONNRESET after an RST (io.EOF after that). ErrWouldBlock while
// the connect is in progress, its error once if it failed, ENOTCONN after
// ShutdownWrite abandoned it, EBADF after Close.
func (cl *Client) Read(p []byte) (int, error) {
	k, e := cl.c.k, cl.ep()
	rec := Record{Kind: KindClientRead, FD: -1, Conn: cl.c.id}
	n := 0
	switch {
	case e.closed:
		rec.Err = EBADF
	case cl.c.dialing:
		rec.Err = EAGAIN
	case len(p) == 0:
	case e.unread() > 0:
		n = e.rcv.read(p[:min(len(p), e.unread())])
		e.consumed()
	case cl.c.abandoned:
		rec.Err = ENOTCONN
	case e.finRcvd:
		rec.Err = EOF
	case e.err != OK:
		rec.Err, e.err = e.err, OK
	case e.reset:
		rec.Err = EOF
	default:
		rec.Err = EAGAIN
	}
	rec.N = int64(n)
	k.record(&rec)
	return n, errOf(opClientRead, rec.Err)
}

// ShutdownWrite queues a FIN after the bytes already written. After a
// reset, or once both FINs have crossed, it fails with ENOTCONN. While the
// connect is in progress it abandons the connect, as inet_shutdown does on
// a SYN_SENT socket: later writes fail with EPIPE and reads with ENOTCONN.
func (cl *Client) ShutdownWrite() error {
	k, e := cl.c.k, cl.ep()
	rec := Record{Kind: KindClientShutdown, FD: -1, Conn: cl.c.id}
	switch {
	case e.closed:
		rec.Err = EBADF
	case cl.c.dialing:
		k.abandonDial(cl.c)
		cl.c.abandoned = true
		e.finQueued = true
	case e.reset, cl.c.finsCrossed():
		rec.Err = ENOTCONN
	default:
		k.queueFIN(cl.c, sideClient)
	}
	k.record(&rec)
	return errOf(opClientShutdown, rec.Err)
}

// Reset aborts the connection (close with SO_LINGER 0): the client's
// buffers are discarded, bytes still waiting for the server's window are
// lost, and an RST follows the bytes already on the wire, so the server
// reads those first. As on Linux nothing is sent once the client's FIN has
// left and the server's has arrived (LAST_ACK, CLOSING, TIME_WAIT): no
// connection is left to abort. A connect in progress is abandoned. The
// client is closed.
func (cl *Client) Reset() error {
	k, e := cl.c.k, cl.ep()
	rec := Record{Kind: KindClientReset, FD: -1, Conn: cl.c.id}
	switch {
	case e.closed:
		rec.Err = EBADF
	case cl.c.dialing:
		k.abandonDial(cl.c)
	case e.rcv.n == 0 && e.finSent && e.finRcvd:
		// tcp_disconnect sends an RST only in states that need one
		// (tcp_need_reset), and in LAST_ACK or CLOSING only with data
		// unsent: the FIN left, so none is.
		k.discard(cl.c, sideClient)
	default:
		k.sendRST(cl.c, sideClient)
		k.discard(cl.c, sideClient)
	}
	e.closed = true
	k.record(&rec)
	return errOf(opClientReset, rec.Err)
}

// Close closes the client's socket. Like Linux, it sends an RST if bytes
// from the server were left unread (unless both FINs have crossed), and
// otherwise a FIN after the bytes already written. Bytes the server sends
// afterwards are answered with an RST. A connect in progress is abandoned.
func (cl *Client) Close() error {
	k, e := cl.c.k, cl.ep()
	rec := Record{Kind: KindClientClose, FD: -1, Conn: cl.c.id}
	switch {
	case e.closed:
		rec.Err = EBADF
	case cl.c.dialing:
		k.abandonDial(cl.c)
	case e.reset:
		k.discard(cl.c, sideClient)
	case e.rcv.n > 0:
		k.sendRST(cl.c, sideClient)
	case cl.c.abandoned:
	default:
		k.queueFIN(cl.c, sideClient)
	}
	e.closed = true
	k.record(&rec)
	return errOf(opClientClose, rec.Err)
}

// Pending returns the bytes the client can read now.
func (cl *Client) Pending() int { return cl.ep().unread() }

// Unsent returns the bytes written by the client that have not reached
// the server's receive buffer: waiting for its window, or on the wire.
func (cl *Client) Unsent() int { return cl.ep().snd.n + cl.c.ep[sideServer].wire }

// Room returns how many bytes a Write would accept now.
func (cl *Client) Room() int {
	e := cl.ep()
	if e.closed || e.sndShut() || cl.c.dialing || e.err != OK {
		return 0
	}
	_, room := cl.c.k.writeRoom(cl.c, sideClient, xmitAll)
	return room
}

// Connecting reports whether the connect is still in progress: the
// listener's accept queue was full, and the client retries its SYN on the
// virtual clock (see Kernel.Connect).
func (cl *Client) Connecting() bool { return cl.c.dialing }

// Closed reports whether the client closed or reset its side.
func (cl *Client) Closed() bool { return cl.ep().closed }

// GotEOF reports whether the server's FIN arrived.
func (cl *Client) GotEOF() bool { return cl.ep().finRcvd }

// WasReset reports whether the connection was reset (by either side).
func (cl *Client) WasReset() bool { return cl.ep().reset }
