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

func (k *Kernel) observeReset(c *conn) {
	if c.resetSeen {
		return
	}
	c.resetSeen = true
	if k.obs != nil {
		k.obs.Reset(c.id)
	}
}
