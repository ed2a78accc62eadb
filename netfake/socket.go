package netfake

import "github.com/mobsim/mobsim/kernel"

var (
	_ kernel.Stream       = (*Socket)(nil)
	_ kernel.VectorWriter = (*Socket)(nil)
)

// Socket is the server's side of an accepted connection. Its methods are the
// fake syscalls: they never block, and return kernel.ErrWouldBlock when they
// cannot make progress.
type Socket struct {
	file
}

// FD returns the socket's fd number (recycled after Close).
func (s *Socket) FD() int { return int(s.fd) }

// ID returns the connection id, the same as the client's (*Client).ID().
func (s *Socket) ID() uint64 { return s.c.id }

// Read reads what has arrived, like recv(2) on a non-blocking TCP socket:
// bytes if any (even after a FIN or an RST: Linux returns what arrived
// first), then io.EOF after a FIN, or the pending error after an RST
// (ECONNRESET, or EPIPE if the peer's FIN had come first; io.EOF after that).
// It returns fewer bytes than len(p) only when it read everything that had
// arrived, so the next arrival finds the buffer empty and makes an edge in
// either mode (the seam's drain-by-short-read clause), or when the fault
// plan cut it short (FaultShortRead), which leaves bytes behind, harsher
// than Linux, and a readable edge pending for them.
func (s *Socket) Read(p []byte) (int, error) {
	n, err := s.read(p)
	s.k.worked(n)
	return n, err
}

func (s *Socket) read(p []byte) (int, error) {
	k, c := s.k, s.c
	rec := Record{Kind: KindRead, FD: s.fd, Conn: c.id}
	if !s.open {
		rec.Err = EBADF
		k.record(&rec)
		return 0, errOf(opRead, EBADF)
	}
	e := &c.ep[sideServer]
	if k.resettable(c) && k.chance(k.faults.Reset) {
		k.faultsInjected[FaultReset]++
		rec.Fault = FaultReset
		k.injectReset(c, ECONNRESET)
	}
	n := 0
	switch {
	case len(p) == 0:
	case e.unread() > 0:
		m := min(len(p), e.unread())
		short := m > 1 && k.chance(k.faults.ShortRead)
		if short {
			k.faultsInjected[FaultShortRead]++
			rec.Fault = FaultShortRead
			m = 1 + k.rng.IntN(m-1)
		}
		n = e.rcv.read(p[:m])
		e.consumed()
		if short {
			// A short read promises the caller that nothing is left
			// (kernel's drain-by-short-read clause); this one left
			// bytes, so it announces them again.
			k.wakeConn(c, wakeData)
		}
	case e.finRcvd:
		rec.Err = EOF // SOCK_DONE is checked before sk_err
	case e.err != OK:
		rec.Err, e.err = e.err, OK
	case e.reset:
		rec.Err = EOF // RCV_SHUTDOWN after the error was consumed
	default:
		rec.Err = EAGAIN
	}
	rec.N = int64(n)
	k.record(&rec)
	if n > 0 && k.obs != nil {
		k.obs.Read(c.id, p[:n])
	}
	if rec.Err == ECONNRESET || rec.Err == EPIPE {
		k.observeReset(c) // a read fails with these only after an RST
	}
	return n, errOf(opRead, rec.Err)
}

// Write sends as much of p as there is room for, like send(2) with
// MSG_NOSIGNAL: what the peer's receive window takes goes on the wire at
// once, as Linux pushes it during the call; what the send buffer takes
// waits there for the window. A short write when both fill up,
// ErrWouldBlock when there is no room at all, EPIPE after CloseWrite, and
// ECONNRESET or EPIPE after a reset. A zero-length Write is not a syscall:
// it returns 0, nil at once and leaves a pending error pending, as netpoll
// does (kernel.Stream).
func (s *Socket) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := s.write(opWrite, KindWrite, p, nil, len(p))
	s.k.worked(n)
	return n, err
}

// Writev is Write for several buffers in one call, like writev(2). Like
// netpoll it passes at most kernel.WritevBufsMax non-empty buffers: the
// rest make a short count on a socket that is still writable, with no
// writable edge to follow. Zero bytes in all is not a syscall, as for
// Write.
func (s *Socket) Writev(bufs [][]byte) (int, error) {
	total, used := 0, 0
	for i, b := range bufs {
		if len(b) == 0 {
			continue
		}
		if used == kernel.WritevBufsMax {
			bufs = bufs[:i]
			break
		}
		total += len(b)
		used++
	}
	if total == 0 {
		return 0, nil
	}
	n, err := s.write(opWritev, KindWritev, nil, bufs, total)
	s.k.worked(n)
	return n, err
}

func (s *Socket) write(o op, kind Kind, p []byte, bufs [][]byte, total int) (int, error) {
	k, c := s.k, s.c
	rec := Record{Kind: kind, FD: s.fd, Conn: c.id, Want: int64(total)}
	if !s.open {
		rec.Err = EBADF
		k.record(&rec)
		return 0, errOf(o, EBADF)
	}
	e := &c.ep[sideServer]
	if k.resettable(c) {
		switch {
		case k.chance(k.faults.Reset):
			k.faultsInjected[FaultReset]++
			rec.Fault = FaultReset
			k.injectReset(c, ECONNRESET)
		case k.chance(k.faults.Pipe):
			k.faultsInjected[FaultPipe]++
			rec.Fault = FaultPipe
			k.injectReset(c, EPIPE)
		}
	}
	n := 0
	switch wire, room := k.writeRoom(c, sideServer, total); {
	case e.err != OK:
		rec.Err, e.err = e.err, OK // sk_stream_error: sock_error() first
	case e.sndShut():
		rec.Err = EPIPE
	case room == 0:
		rec.Err = EAGAIN
		e.nospace = true
	default:
		m := room
		if m < total && k.cfg.Edge == EdgeLinux {
			// tcp_sendmsg sets SOCK_NOSPACE when it runs out of room.
			e.nospace = true
		}
		if m > 1 && k.chance(k.faults.ShortWrite) {
			k.faultsInjected[FaultShortWrite]++
			rec.Fault = FaultShortWrite
			m = 1 + k.rng.IntN(m-1)
		}
		n = m
		if bufs == nil {
			k.take(c, sideServer, p[:m], wire)
			if k.obs != nil {
				k.obs.Wrote(c.id, p[:m])
			}
		} else {
			for _, b := range bufs {
				if m == 0 {
					break
				}
				b = b[:min(len(b), m)]
				wire -= k.take(c, sideServer, b, wire)
				m -= len(b)
				if len(b) > 0 && k.obs != nil {
					k.obs.Wrote(c.id, b)
				}
			}
		}
	}
	rec.N = int64(n)
	k.record(&rec)
	if (rec.Err == ECONNRESET || rec.Err == EPIPE) && e.reset {
		k.observeReset(c) // not for EPIPE after our own CloseWrite
	}
	return n, errOf(o, rec.Err)
}

// CloseWrite queues a FIN after the bytes already written, like
// shutdown(SHUT_WR). A second call does nothing; after a reset, or once
// both FINs have crossed (the socket is closed both ways), it fails with
// ENOTCONN.
func (s *Socket) CloseWrite() error {
	k, c := s.k, s.c
	rec := Record{Kind: KindCloseWrite, FD: s.fd, Conn: c.id}
	e := &c.ep[sideServer]
	switch {
	case !s.open:
		rec.Err = EBADF
	case e.reset, c.finsCrossed():
		rec.Err = ENOTCONN
	case e.finQueued:
	default:
		k.queueFIN(c, sideServer)
		e.nospace = false
		if k.obs != nil {
			k.obs.ClosedWrite(c.id)
		}
	}
	if rec.Err != EBADF {
		// inet_shutdown ends with sk_state_change whatever happened,
		// even for ENOTCONN, so Linux reports the socket again.
		k.wakeConn(c, wakeState)
	}
	k.record(&rec)
	k.worked(0)
	return errOf(opCloseWrite, rec.Err)
}

// Close releases the fd (the lowest free fd is reused next) and removes the
// registration. Like Linux, it sends an RST instead of a FIN when received
// bytes were left unread (behind what it already put on the wire), unless
// both FINs have crossed, when there is nothing left to reset; otherwise
// the bytes already written still go out, followed by a FIN. Closing twice
// fails with EBADF and never touches a socket that got the same fd number
// since.
func (s *Socket) Close() error { return s.release(KindClose, opClose, false) }

// release is Close, and with abortive Abort: the fd and the registration
// go, and the connection is reset if abortive or if received bytes were
// left unread, else a FIN follows what was written.
func (s *Socket) release(kind Kind, o op, abortive bool) error {
	k, c := s.k, s.c
	rec := Record{Kind: kind, FD: s.fd, Conn: c.id}
	if !s.open {
		rec.Err = EBADF
		k.record(&rec)
		return errOf(o, EBADF)
	}
	k.unregister(&s.file)
	s.open = false
	k.freeFD(s.fd)
	e := &c.ep[sideServer]
	sentRST := false
	switch {
	case e.reset:
		k.discard(c, sideServer)
	case abortive || e.rcv.n > 0:
		// Bytes still on the wire count: on Linux they would already
		// be in the receive queue.
		sentRST = k.sendRST(c, sideServer)
	default:
		k.queueFIN(c, sideServer)
	}
	e.closed = true
	e.nospace = false
	k.record(&rec)
	if sentRST {
		k.observeReset(c)
	}
	if k.obs != nil {
		k.obs.Closed(c.id)
	}
	k.worked(0)
	return nil
}
