package netfake

// Observer is told the result of every server-side syscall that moves bytes
// or changes a connection's life, so the simulator's oracle can check
// delivery. Ids are connection ids, unique for the kernel's life and equal
// to (*Client).ID(); never fds, which are recycled. The virtual time of a
// call is k.Now(). Slices passed in are only valid during the call.
type Observer interface {
	// Accepted: Accept returned the server side of connection id.
	Accepted(id uint64)
	// Read: a server Read returned p (len(p) > 0).
	Read(id uint64, p []byte)
	// Wrote: a server Write or Writev accepted p (len(p) > 0). A Writev
	// is reported as one call per buffer piece, in order.
	Wrote(id uint64, p []byte)
	// ClosedWrite: CloseWrite queued a FIN.
	ClosedWrite(id uint64)
	// Closed: the server closed its socket (after Reset, if that close
	// sent an RST).
	Closed(id uint64)
	// Reset: the server side saw the connection reset (a Read or Write
	// returned ECONNRESET or EPIPE) or caused it (Close with unread data
	// sends an RST). At most once per connection.
	Reset(id uint64)
}

// LossObserver is an Observer that is also told when bytes the server
// wrote to a connection will never arrive: purged from its send buffer by
// an RST, discarded on the wire by the client's reset or close, or sent to
// a client that was gone. It lets an oracle tell an RST that destroyed
// output from one that came after everything had arrived.
type LossObserver interface {
	Observer
	// Lost: n more bytes the server wrote to connection id will never
	// reach its client.
	Lost(id uint64, n int)
}

// observeLost reports n bytes of the server's output to c lost.
func (k *Kernel) observeLost(c *conn, n int) {
	if n > 0 {
		if lo, ok := k.obs.(LossObserver); ok {
			lo.Lost(c.id, n)
		}
	}
}

func (k *Kernel) observeReset(c *conn) {
	if c.resetSeen {
		return
	}
	c.resetSeen = true
	if k.obs != nil {
		k.obs.Reset(c.id)
	}
}
