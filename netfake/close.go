package netfake

import "github.com/mobsim/mobsim/kernel"

var (
	_ kernel.UnackedCounter = (*Socket)(nil)
	_ kernel.Aborter        = (*Socket)(nil)
)

// UnackedBytes is Linux's SIOCOUTQ: the bytes the server wrote that have
// not arrived at the client (arrival is their acknowledgement here), those
// waiting for the window and those on the wire, plus one for the FIN from
// CloseWrite (or Close) until it arrives. After an RST the count stays
// where the purge left it: nothing more will arrive. With Config.NoUnacked
// it fails with ENOTSUP, as a kernel that cannot tell (the BSDs other than
// FreeBSD) would have no such call: the server must fall back.
func (s *Socket) UnackedBytes() (int, error) {
	k, c := s.k, s.c
	rec := Record{Kind: KindUnacked, FD: s.fd, Conn: c.id}
	switch {
	case !s.open:
		rec.Err = EBADF
	case k.cfg.NoUnacked:
		rec.Err = ENOTSUP
	case c.ep[sideServer].reset:
		rec.N = int64(c.ep[sideServer].unackedAtReset)
	default:
		rec.N = int64(c.unacked(sideServer))
	}
	k.record(&rec)
	return int(rec.N), errOf(opUnacked, rec.Err)
}

// unacked is what side has not had acknowledged: its bytes not yet
// arrived, and its FIN until it arrives (Linux counts the FIN as a byte).
func (c *conn) unacked(side int) int {
	n := c.queued(side)
	if e := &c.ep[side]; e.finQueued && !e.reset && !c.ep[1-side].finRcvd {
		n++
	}
	return n
}

// Abort is Close with SO_LINGER of zero: the registration and the fd go as
// with Close, and the connection is reset whatever is unread, as
// tcp_disconnect does: the RST follows what the server already put on the
// wire, and its send buffer and receive buffer are dropped at once (the
// bytes it still held are lost, which the LossObserver is told). Once both
// FINs have crossed there is nothing to reset, and nothing is sent.
func (s *Socket) Abort() error { return s.release(KindAbort, opAbort, true) }
