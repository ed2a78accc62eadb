//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package netpoll

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"golang.org/x/sys/unix"
)

// Poller is a kqueue with EV_CLEAR (edge-triggered) filters and a
// self-pipe to wake it.
//
// Tokens are not stored in the kevent's udata: x/sys/unix types udata as
// *byte on most BSDs, and a token there would be an integer in a pointer
// field that the garbage collector may check. Instead the kevent's ident
// (the fd) indexes regs, which is current whenever Poll translates a batch
// (registrations change only between Polls, on the same goroutine).
//
// An entry names the source that registered the fd, and a registration is
// the entry's only while that source is open: closing a source closes its fd
// (which removes its filters from the kqueue) and makes its descriptor -1,
// so a new source that gets the same number finds an entry that is not its
// own, and is not registered, as on epoll. The entry itself is replaced by
// the next Register of that number.
type Poller struct {
	kq           int
	wakeR, wakeW int // self-pipe; wakeR is registered for EVFILT_READ
	start        time.Time

	mu     sync.Mutex // orders Wake against Close, so Wake never writes to a reused fd
	closed bool

	regs []registration              // indexed by fd
	raw  [pollBatchMax]unix.Kevent_t // filled by kevent; Poll does not allocate
	ts   unix.Timespec               // Poll's timeout, here so that it does not escape to the heap

	batch batcher // WriteBatch's counters (batch_bsd.go)
}

// registration is what the Poller knows about one fd.
type registration struct {
	src kernel.Source // the *Conn or *Listener that registered the fd; nil if none
	tok kernel.Token
}

// kqueueTimeoutMax caps a kevent timeout, as Go's runtime does: darwin
// returns EINVAL for a timeout over 1e6 seconds (runtime/netpoll_kqueue.go).
const kqueueTimeoutMax = 1e6 * time.Second

// New creates a kqueue and its wake-up pipe.
func New() (*Poller, error) {
	warmRuntimePoller()
	p := &Poller{kq: -1, wakeR: -1, wakeW: -1, start: time.Now()}
	if err := p.open(); err != nil {
		p.closeFDs()
		return nil, err
	}
	return p, nil
}

// open creates the kqueue, close-on-exec under syscall.ForkLock (kqueue(2)
// takes no flags), and the non-blocking, close-on-exec wake-up pipe, and
// registers the pipe's read end.
func (p *Poller) open() error {
	syscall.ForkLock.RLock()
	kq, err := unix.Kqueue()
	if err == nil {
		unix.CloseOnExec(kq)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return fmt.Errorf("netpoll: kqueue: %w", err)
	}
	p.kq = kq
	if p.wakeR, p.wakeW, err = wakePipe(); err != nil {
		return fmt.Errorf("netpoll: pipe: %w", err)
	}
	if err := p.change(p.wakeR, unix.EVFILT_READ, unix.EV_ADD|unix.EV_CLEAR); err != nil {
		return fmt.Errorf("netpoll: kevent add wake pipe: %w", err)
	}
	return nil
}

// kqueueFilters are the two filters a registration may have, with the
// interest each serves.
var kqueueFilters = [...]struct {
	filter int
	in     kernel.Interest
	name   string
}{
	{unix.EVFILT_READ, kernel.InterestRead, "read"},
	{unix.EVFILT_WRITE, kernel.InterestWrite, "write"},
}

// Register adds an EV_CLEAR filter for each interest: EVFILT_READ for
// read, EVFILT_WRITE for write. Adding a filter reports what is ready at
// once. It is all or nothing: if a filter cannot be added, the ones added
// before it are deleted and src stays unregistered (mio adds both in one
// call and leaves the first on failure). Registering a source that is
// registered fails with EEXIST, as on epoll.
func (p *Poller) Register(src kernel.Source, tok kernel.Token, in kernel.Interest) error {
	fd, err := p.checkToken(src, tok)
	if err != nil {
		return err
	}
	if p.owns(fd, src) {
		return fmt.Errorf("netpoll: register fd=%d: %w", fd, unix.EEXIST)
	}
	// An entry that is not src's was left by a source closed without
	// Deregister; forget it first, so that no event for the new filters
	// can ever be translated to its token, even if Register fails.
	*p.slot(fd) = registration{}
	for i, f := range kqueueFilters {
		if in&f.in == 0 {
			continue
		}
		if err := p.change(fd, f.filter, unix.EV_ADD|unix.EV_CLEAR); err != nil {
			for _, undo := range kqueueFilters[:i] {
				if in&undo.in != 0 {
					_ = p.remove(fd, undo.filter) // best effort: the error below is what the caller needs
				}
			}
			return fmt.Errorf("netpoll: kevent add %s filter fd=%d: %w", f.name, fd, err)
		}
	}
	*p.slot(fd) = registration{src: src, tok: tok}
	return nil
}

// Reregister changes the token and interest of src as mio does: EV_ADD for
// each wanted filter, which on an existing filter re-checks it (FreeBSD's
// and NetBSD's kqueue_register call the filter again and enqueue the knote
// if it is ready; OpenBSD's filter_modify and darwin's f_touch do the same),
// so kept interest reports current readiness as new interest does; EV_DELETE for each unwanted one, ENOENT
// (never added) ignored. Reregistering a source that is not registered fails
// with ENOENT, as on epoll. Every change is tried; the error, if any, names
// each one that failed.
func (p *Poller) Reregister(src kernel.Source, tok kernel.Token, in kernel.Interest) error {
	fd, err := p.checkToken(src, tok)
	if err != nil {
		return err
	}
	if !p.owns(fd, src) {
		return fmt.Errorf("netpoll: reregister fd=%d: %w", fd, unix.ENOENT)
	}
	p.regs[fd].tok = tok
	var errs [len(kqueueFilters)]error
	for i, f := range kqueueFilters {
		if in&f.in != 0 {
			if err := p.change(fd, f.filter, unix.EV_ADD|unix.EV_CLEAR); err != nil {
				errs[i] = fmt.Errorf("netpoll: kevent add %s filter fd=%d: %w", f.name, fd, err)
			}
		} else {
			errs[i] = p.remove(fd, f.filter)
		}
	}
	return errors.Join(errs[:]...)
}

// Deregister deletes both filters of src, as mio does (ENOENT, a filter it
// did not have, ignored), and forgets its token. Both deletes are tried and
// the token is forgotten whatever they return, so no event for src is
// reported after Deregister returns even if a delete failed (such an event
// finds no entry and is dropped). A source that is not registered fails
// with ENOENT, as on epoll.
func (p *Poller) Deregister(src kernel.Source) error {
	fd, err := sourceFD(src)
	if err != nil {
		return err
	}
	if !p.owns(fd, src) {
		return fmt.Errorf("netpoll: deregister fd=%d: %w", fd, unix.ENOENT)
	}
	p.regs[fd] = registration{}
	var errs [len(kqueueFilters)]error
	for i, f := range kqueueFilters {
		errs[i] = p.remove(fd, f.filter)
	}
	return errors.Join(errs[:]...)
}

// checkToken rejects ReservedToken, which kqueue does not need for its
// wake-up (events are told apart by fd) but which is refused for code to
// behave the same on every system, and returns src's fd.
func (p *Poller) checkToken(src kernel.Source, tok kernel.Token) (int, error) {
	if tok == ReservedToken {
		return -1, ErrReservedToken
	}
	return sourceFD(src)
}

// owns reports whether fd's entry is src's: src is open (its fd is fd) and
// registered it.
func (p *Poller) owns(fd int, src kernel.Source) bool {
	return fd < len(p.regs) && p.regs[fd].src == src
}

// remove deletes one filter. ENOENT (the filter was never added) is not an
// error: mio ignores it for the same reason.
func (p *Poller) remove(fd, filter int) error {
	err := p.change(fd, filter, unix.EV_DELETE)
	if err != nil && err != unix.ENOENT {
		return fmt.Errorf("netpoll: kevent delete filter=%d fd=%d: %w", filter, fd, err)
	}
	return nil
}

// change applies one change with its own kevent call and no event list, so
// a failure comes back as the call's errno (EV_RECEIPT, which would allow
// batching, is missing on NetBSD) and no pending event is consumed. EINTR
// is retried; applying a change twice is harmless (an add re-checks, a
// delete finds ENOENT).
func (p *Poller) change(fd, filter, flags int) error {
	var ch [1]unix.Kevent_t
	unix.SetKevent(&ch[0], fd, filter, flags)
	for {
		_, err := unix.Kevent(p.kq, ch[:], nil, nil)
		if err != unix.EINTR {
			return err
		}
	}
}

// slot returns the table entry for fd, growing the table as needed.
func (p *Poller) slot(fd int) *registration {
	if fd >= len(p.regs) {
		p.regs = append(p.regs, make([]registration, fd+1-len(p.regs))...)
	}
	return &p.regs[fd]
}

// Poll waits up to timeout (at most kqueueTimeoutMax at a time) for events
// and fills events[:n]. kqueue reports read and write readiness as separate
// events, so one token may appear twice. An EINTR is retried with the
// remaining timeout. ETIMEDOUT from kevent, which darwin has been seen to
// return (golang/go#59679; Go's runtime ignores it), means no events.
func (p *Poller) Poll(events []kernel.Event, timeout time.Duration) (int, error) {
	batch := min(len(events), len(p.raw))
	if batch == 0 {
		return 0, errEmptyBatch
	}
	n, err := waitRetrying(timeout, func(wait time.Duration) (int, error) {
		var ts *unix.Timespec // nil: wait without limit
		if wait >= 0 {
			p.ts = unix.NsecToTimespec(int64(min(wait, kqueueTimeoutMax)))
			ts = &p.ts
		}
		n, err := unix.Kevent(p.kq, nil, p.raw[:batch], ts)
		if err == unix.ETIMEDOUT {
			return 0, nil
		}
		return n, err
	})
	if err != nil {
		return 0, fmt.Errorf("netpoll: kevent wait: %w", err)
	}
	return p.translate(events, n), nil
}

// translate converts raw[:n] into events, drops the wake-up event (draining
// the pipe) and events for fds no longer registered.
func (p *Poller) translate(events []kernel.Event, n int) int {
	k := 0
	for i := range n {
		ev := &p.raw[i]
		fd := int(ev.Ident)
		if fd == p.wakeR && ev.Filter == unix.EVFILT_READ {
			p.drainWake()
			continue
		}
		if fd >= len(p.regs) || p.regs[fd].src == nil {
			continue
		}
		events[k] = kernel.Event{Token: p.regs[fd].tok, Ready: kqueueReady(ev)}
		k++
	}
	return k
}

// kqueueReady maps one kevent to readiness bits. The polling call passes no
// change list, so EV_ERROR (a change that failed) cannot come back here.
func kqueueReady(ev *unix.Kevent_t) kernel.Ready {
	var r kernel.Ready
	eof := ev.Flags&unix.EV_EOF != 0
	switch ev.Filter {
	case unix.EVFILT_READ:
		// Data, a pending connection, or a FIN to read; EV_EOF: the
		// peer shut down its write side.
		r |= kernel.ReadyRead
		if eof {
			r |= kernel.ReadyReadClosed
		}
	case unix.EVFILT_WRITE:
		// Room in the send buffer; EV_EOF: the connection can no longer
		// send.
		r |= kernel.ReadyWrite
		if eof {
			r |= kernel.ReadyWriteClosed
		}
	}
	// EV_EOF with a non-zero fflags, on either filter: fflags holds the
	// socket error (FreeBSD's filt_soread and filt_sowrite, darwin's too,
	// set kn_fflags = so_error; mio's is_error checks the same for any
	// filter). A reset seen through write interest only is reported so.
	if eof && ev.Fflags != 0 {
		r |= kernel.ReadyError
	}
	return r
}

// Wake makes a blocked Poll, or the next one, return. Safe from any
// goroutine. A full pipe (EAGAIN) means wake-ups are already pending.
func (p *Poller) Wake() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("netpoll: wake: poller is closed")
	}
	one := [1]byte{1}
	for {
		_, err := unix.Write(p.wakeW, one[:])
		switch err {
		case nil, unix.EAGAIN:
			return nil
		case unix.EINTR:
			continue
		}
		return fmt.Errorf("netpoll: wake: pipe write: %w", err)
	}
}

// drainWake empties the wake-up pipe, so that the next Wake makes a new
// edge on its EV_CLEAR filter.
func (p *Poller) drainWake() {
	var buf [64]byte
	for {
		n, err := unix.Read(p.wakeR, buf[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || n < len(buf) {
			return
		}
	}
}

// Close closes the kqueue and the wake-up pipe. It must not race with
// Poll; Wake after Close returns an error.
func (p *Poller) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("netpoll: close: poller is already closed")
	}
	p.closed = true
	return p.closeFDs()
}

func (p *Poller) closeFDs() error {
	var first error
	for _, fd := range [...]int{p.wakeW, p.wakeR, p.kq} {
		if fd < 0 {
			continue
		}
		if err := unix.Close(fd); err != nil && first == nil {
			first = fmt.Errorf("netpoll: close fd=%d: %w", fd, err)
		}
	}
	return first
}
