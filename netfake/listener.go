package netfake

import (
	"slices"
	"time"

	"github.com/mobsim/mobsim/kernel"
)

var _ kernel.Listener = (*Listener)(nil)

// Listener is a listening socket with a bounded accept queue (backlog).
// Connections wait there fully established: clients can write before the
// server accepts, as with TCP.
type Listener struct {
	file
	backlog []*conn // FIFO
	max     int     // listen(2)'s backlog: the queue is full above it
}

// Listen opens a listening socket on the next fd with an accept queue for
// backlog connections. Like Linux (sk_acceptq_is_full) the queue is full
// only when it holds more than backlog, so it admits backlog+1 (1 for a
// backlog of 0 or less). It fails with EMFILE at FDMax.
func (k *Kernel) Listen(backlog int) (*Listener, error) {
	l := &Listener{max: max(backlog, 0)}
	l.file = file{k: k, l: l}
	rec := Record{Kind: KindListen, N: int64(l.max)}
	fd := k.allocFD(&l.file)
	if fd < 0 {
		rec.FD, rec.Err = -1, EMFILE
		k.record(&rec)
		return nil, errOf(opListen, EMFILE)
	}
	l.fd, l.open = fd, true
	rec.FD = fd
	k.record(&rec)
	return l, nil
}

// FD returns the listener's fd number.
func (l *Listener) FD() int { return int(l.fd) }

// Pending returns the number of connections waiting in the accept queue.
func (l *Listener) Pending() int { return len(l.backlog) }

func (l *Listener) full() bool { return len(l.backlog) > l.max }

// Accept takes the oldest pending connection and gives it the lowest free
// fd. Like Linux it checks the fd limit first: at FDMax it fails with EMFILE
// whether or not a connection waits, and the queue is left as it was.
func (l *Listener) Accept() (kernel.Stream, error) {
	s, err := l.accept()
	l.k.worked(0)
	if s == nil {
		return nil, err // not a typed nil inside the interface
	}
	return s, err
}

func (l *Listener) accept() (*Socket, error) {
	k := l.k
	rec := Record{Kind: KindAccept, FD: l.fd, N: -1}
	switch {
	case !l.open:
		rec.Err = EBADF
	case k.chance(k.faults.MFile):
		k.faultsInjected[FaultMFile]++
		rec.Err, rec.Fault = EMFILE, FaultMFile
	case k.open >= k.cfg.FDMax:
		rec.Err = EMFILE
	case len(l.backlog) == 0:
		rec.Err = EAGAIN
	}
	if rec.Err != OK {
		k.record(&rec)
		return nil, errOf(opAccept, rec.Err)
	}
	c := l.pop()
	rec.Conn = c.id
	if k.chance(k.faults.Abort) {
		// The connection died between the handshake and accept
		// (ECONNABORTED): it is consumed and its client is reset.
		k.faultsInjected[FaultAbort]++
		rec.Err, rec.Fault = ECONNABORTED, FaultAbort
		k.sendRST(c, sideServer)
		c.ep[sideServer].closed = true
		k.record(&rec)
		return nil, errOf(opAccept, ECONNABORTED)
	}
	s := &c.sock
	s.fd = k.allocFD(&s.file)
	s.open = true
	c.accepted = true
	rec.N = int64(s.fd)
	k.record(&rec)
	if k.obs != nil {
		k.obs.Accepted(c.id)
	}
	return s, nil
}

func (l *Listener) pop() *conn {
	c := l.backlog[0]
	copy(l.backlog, l.backlog[1:])
	l.backlog[len(l.backlog)-1] = nil
	l.backlog = l.backlog[:len(l.backlog)-1]
	return c
}

// Close closes the listening socket and removes its registration. Pending
// connections are reset, as Linux does for an accept queue that is torn down.
func (l *Listener) Close() error {
	k := l.k
	rec := Record{Kind: KindListenerClose, FD: l.fd}
	if !l.open {
		rec.Err = EBADF
		k.record(&rec)
		return errOf(opClose, EBADF)
	}
	k.unregister(&l.file)
	l.open = false
	k.freeFD(l.fd)
	for len(l.backlog) > 0 {
		c := l.pop()
		k.sendRST(c, sideServer)
		c.ep[sideServer].closed = true
	}
	k.record(&rec)
	k.worked(0)
	return nil
}

// Connect opens a client connection to l with the configured buffer sizes.
// See ConnectWith.
func (k *Kernel) Connect(l *Listener) (*Client, error) {
	return k.ConnectWith(l, Buffers{})
}

// ConnectWith opens a client connection to l. It fails with ECONNREFUSED if
// l is closed (the port answers with an RST). If l's accept queue has room
// the handshake completes at once and the connection waits there. If it is
// full, Linux drops the SYN and the client retransmits it: the client is
// returned with its connect in progress (Connecting), its reads and writes
// return ErrWouldBlock, and the kernel retries on the virtual clock after
// Config.SYNRetry, doubling each time, Config.SYNRetries times. A retry that
// finds room completes the handshake and queues the connection (a new
// listener edge); after the last one the connect fails with ETIMEDOUT, and
// a retry that finds l closed fails with ECONNREFUSED.
func (k *Kernel) ConnectWith(l *Listener, b Buffers) (*Client, error) {
	rec := Record{Kind: KindConnect, FD: -1}
	if l != nil {
		rec.FD = l.fd
	}
	if l == nil || l.k != k || !l.open {
		rec.Err = ECONNREFUSED
		k.record(&rec)
		return nil, errOf(opConnect, ECONNREFUSED)
	}
	c := k.newConn(l, b)
	rec.Conn = c.id
	if l.full() {
		rec.Err = EINPROGRESS
		k.record(&rec)
		c.dialing = true
		k.scheduleDial(c, k.cfg.SYNRetry)
		return &c.cli, nil
	}
	k.record(&rec)
	k.establish(c)
	return &c.cli, nil
}

// establish puts a connection whose handshake completed in its listener's
// queue.
func (k *Kernel) establish(c *conn) {
	l := c.l
	wasEmpty := len(l.backlog) == 0
	l.backlog = append(l.backlog, c)
	k.active = append(k.active, c)
	// Linux wakes the listener for every connection; the contract only
	// promises an edge when the queue becomes non-empty.
	if l.regd && (wasEmpty || k.cfg.Edge == EdgeLinux) {
		k.wake(&l.file, wakeData)
	}
}

// scheduleDial sets c's next SYN retransmission after d, keeping k.dials
// ordered by due time (ties in the order they were set).
func (k *Kernel) scheduleDial(c *conn, d time.Duration) {
	c.dialDue = k.now + d
	i := len(k.dials)
	for i > 0 && k.dials[i-1].dialDue > c.dialDue {
		i--
	}
	k.dials = slices.Insert(k.dials, i, c)
}

// redial is c's SYN retransmission, due now.
func (k *Kernel) redial(c *conn) {
	rec := Record{Kind: KindSYNRetry, FD: -1, Conn: c.id, N: int64(c.dialTries + 1)}
	l := c.l
	switch {
	case c.dialTries == k.cfg.SYNRetries:
		rec.Err = ETIMEDOUT
		k.failDial(c, ETIMEDOUT)
	case !l.open:
		rec.Err = ECONNREFUSED
		k.failDial(c, ECONNREFUSED)
	case l.full():
		c.dialTries++
		rec.Err = EAGAIN
		k.scheduleDial(c, k.cfg.SYNRetry<<c.dialTries)
	default:
		c.dialTries++
		c.dialing = false
		rec.FD = l.fd
		k.record(&rec)
		k.establish(c)
		return
	}
	k.record(&rec)
}

// failDial ends a connect in progress with errno for the client: its socket
// is dead (reads return the error once, then io.EOF; writes the error,
// then EPIPE), and the server never had a side.
func (k *Kernel) failDial(c *conn, errno Errno) {
	c.dialing = false
	cl := &c.ep[sideClient]
	cl.reset, cl.err = true, errno
	c.ep[sideServer].closed, c.ep[sideServer].reset = true, true
}

// abandonDial takes a connect in progress off the clock for good: the
// client closed its socket or shut it down, and nothing reaches the server.
func (k *Kernel) abandonDial(c *conn) {
	if i := slices.Index(k.dials, c); i >= 0 {
		k.dials = slices.Delete(k.dials, i, i+1)
	}
	c.dialing = false
	c.ep[sideServer].closed, c.ep[sideServer].reset = true, true
	c.retired = true
}

// runDials makes every SYN retransmission due at or before t, each at its
// own time on the clock.
func (k *Kernel) runDials(t time.Duration) {
	for len(k.dials) > 0 && k.dials[0].dialDue <= t {
		c := k.dials[0]
		k.dials = slices.Delete(k.dials, 0, 1)
		k.advanceTo(c.dialDue)
		k.redial(c)
	}
}
