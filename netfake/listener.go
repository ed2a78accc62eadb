package netfake

import "github.com/mobsim/mobsim/kernel"

var _ kernel.Listener = (*Listener)(nil)

// Listener is a listening socket with a bounded accept queue (backlog).
// Connections wait there fully established: clients can write before the
// server accepts, as with TCP.
type Listener struct {
	file
	backlog []*conn // FIFO
	max     int
}

// Listen opens a listening socket on the next fd whose accept queue holds
// at most backlog connections (at least 1). It fails with EMFILE at FDMax.
func (k *Kernel) Listen(backlog int) (*Listener, error) {
	l := &Listener{max: max(backlog, 1)}
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

// Accept takes the oldest pending connection and gives it the lowest free
// fd. Like Linux it checks the fd limit first: at FDMax it fails with EMFILE
// whether or not a connection waits, and the queue is left as it was.
func (l *Listener) Accept() (kernel.Stream, error) {
	s, err := l.accept()
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
	return nil
}

// Connect opens a client connection to l with the configured buffer sizes.
// See ConnectWith.
func (k *Kernel) Connect(l *Listener) (*Client, error) {
	return k.ConnectWith(l, Buffers{})
}

// ConnectWith opens a client connection to l: the handshake completes at
// once and the connection waits in l's accept queue. It fails with
// ECONNREFUSED if l is closed or its queue is full (a real kernel would
// drop the SYN and let the client retry; refusing is the same to the
// server and keeps the client simple).
func (k *Kernel) ConnectWith(l *Listener, b Buffers) (*Client, error) {
	rec := Record{Kind: KindConnect, FD: -1}
	if l != nil {
		rec.FD = l.fd
	}
	if l == nil || l.k != k || !l.open || len(l.backlog) >= l.max {
		rec.Err = ECONNREFUSED
		k.record(&rec)
		return nil, errOf(opConnect, ECONNREFUSED)
	}
	c := k.newConn(l, b)
	wasEmpty := len(l.backlog) == 0
	l.backlog = append(l.backlog, c)
	rec.Conn = c.id
	k.record(&rec)
	// Linux wakes the listener for every connection; the contract only
	// promises an edge when the queue becomes non-empty.
	if l.regd && (wasEmpty || k.cfg.Edge == EdgeLinux) {
		k.wake(&l.file, wakeData)
	}
	return &c.cli, nil
}
