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

// Write queues as much of p as the client's send buffer has room for:
// ErrWouldBlock when full, EPIPE after ShutdownWrite, ECONNRESET or EPIPE
// after a reset, EBADF after Close or Reset.
func (cl *Client) Write(p []byte) (int, error) {
	k, e := cl.c.k, cl.ep()
	rec := Record{Kind: KindClientWrite, FD: -1, Conn: cl.c.id}
	n := 0
	switch {
	case e.closed:
		rec.Err = EBADF
	case e.err != OK:
		rec.Err, e.err = e.err, OK
	case e.sndShut():
		rec.Err = EPIPE
	case len(p) == 0:
	case e.snd.free() == 0:
		rec.Err = EAGAIN
	default:
		n = e.snd.write(p)
	}
	rec.N = int64(n)
	k.record(&rec)
	return n, errOf(opClientWrite, rec.Err)
}

// Read reads what has arrived: bytes first, then io.EOF after the server's
// FIN, or ECONNRESET after an RST (io.EOF after that). EBADF after Close.
func (cl *Client) Read(p []byte) (int, error) {
	k, e := cl.c.k, cl.ep()
	rec := Record{Kind: KindClientRead, FD: -1, Conn: cl.c.id}
	n := 0
	switch {
	case e.closed:
		rec.Err = EBADF
	case len(p) == 0:
	case e.rcv.n > 0:
		n = e.rcv.read(p)
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

// ShutdownWrite queues a FIN after the bytes already written.
func (cl *Client) ShutdownWrite() error {
	k, e := cl.c.k, cl.ep()
	rec := Record{Kind: KindClientShutdown, FD: -1, Conn: cl.c.id}
	switch {
	case e.closed:
		rec.Err = EBADF
	case e.reset:
		rec.Err = ENOTCONN
	default:
		e.finQueued = true
	}
	k.record(&rec)
	return errOf(opClientShutdown, rec.Err)
}

// Reset aborts the connection (close with SO_LINGER 0): the client's
// buffers are discarded, bytes it had not sent yet are lost, and an RST
// reaches the server at the next transmission. The client is closed.
func (cl *Client) Reset() error {
	k, e := cl.c.k, cl.ep()
	rec := Record{Kind: KindClientReset, FD: -1, Conn: cl.c.id}
	if e.closed {
		rec.Err = EBADF
	} else {
		k.sendRST(cl.c, sideClient)
		e.rcv.drop(e.rcv.n)
		e.closed = true
	}
	k.record(&rec)
	return errOf(opClientReset, rec.Err)
}

// Close closes the client's socket. Like Linux, it sends an RST if bytes
// from the server were left unread, and otherwise a FIN after the bytes
// already written. Bytes the server sends afterwards are answered with an
// RST.
func (cl *Client) Close() error {
	k, e := cl.c.k, cl.ep()
	rec := Record{Kind: KindClientClose, FD: -1, Conn: cl.c.id}
	switch {
	case e.closed:
		rec.Err = EBADF
	case e.reset:
		e.rcv.drop(e.rcv.n)
	case e.rcv.n > 0:
		k.sendRST(cl.c, sideClient)
	default:
		e.finQueued = true
	}
	e.closed = true
	k.record(&rec)
	return errOf(opClientClose, rec.Err)
}

// Pending returns the bytes the client can read now.
func (cl *Client) Pending() int { return cl.ep().rcv.n }

// Unsent returns the bytes written by the client and not yet transmitted.
func (cl *Client) Unsent() int { return cl.ep().snd.n }

// Room returns how many bytes a Write would accept now.
func (cl *Client) Room() int {
	e := cl.ep()
	if e.closed || e.sndShut() {
		return 0
	}
	return e.snd.free()
}

// Closed reports whether the client closed or reset its side.
func (cl *Client) Closed() bool { return cl.ep().closed }

// GotEOF reports whether the server's FIN arrived.
func (cl *Client) GotEOF() bool { return cl.ep().finRcvd }

// WasReset reports whether the connection was reset (by either side).
func (cl *Client) WasReset() bool { return cl.ep().reset }
