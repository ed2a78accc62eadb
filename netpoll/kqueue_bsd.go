//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package netpoll

import (
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

// registration is what the Poller knows about one registered fd.
type registration struct {
	tok   kernel.Token
	in    kernel.Interest // the filters currently added
	valid bool
}

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

// open creates the descriptors, each close-on-exec under syscall.ForkLock
// (kqueue and pipe take no flags on every BSD), the pipe non-blocking.
func (p *Poller) open() error {
	var pipe [2]int
	syscall.ForkLock.RLock()
	kq, errKq := unix.Kqueue()
	if errKq == nil {
		p.kq = kq
		unix.CloseOnExec(kq)
	}
	errPipe := unix.Pipe(pipe[:])
	if errPipe == nil {
		p.wakeR, p.wakeW = pipe[0], pipe[1]
		unix.CloseOnExec(pipe[0])
		unix.CloseOnExec(pipe[1])
	}
	syscall.ForkLock.RUnlock()
	if errKq != nil {
		return fmt.Errorf("netpoll: kqueue: %w", errKq)
	}
	if errPipe != nil {
		return fmt.Errorf("netpoll: pipe: %w", errPipe)
	}
	for _, fd := range pipe {
		if err := unix.SetNonblock(fd, true); err != nil {
			return fmt.Errorf("netpoll: pipe: set non-blocking: %w", err)
		}
	}
	if err := p.change(p.wakeR, unix.EVFILT_READ, unix.EV_ADD|unix.EV_CLEAR); err != nil {
		return fmt.Errorf("netpoll: kevent add wake pipe: %w", err)
	}
	return nil
}

// Register adds an EV_CLEAR filter for each interest: EVFILT_READ for
// read, EVFILT_WRITE for write. Unlike epoll it does not detect a source
// that is already registered.
func (p *Poller) Register(src kernel.Source, tok kernel.Token, in kernel.Interest) error {
	return p.update(src, tok, in, false)
}

// Reregister changes the token and interest of src. It re-adds the write
// filter when write interest is kept, which re-arms it: a writable socket
// reports writable again. It deletes the filters no longer wanted.
func (p *Poller) Reregister(src kernel.Source, tok kernel.Token, in kernel.Interest) error {
	return p.update(src, tok, in, true)
}

func (p *Poller) update(src kernel.Source, tok kernel.Token, in kernel.Interest, re bool) error {
	if tok == ReservedToken {
		return ErrReservedToken
	}
	fd, err := sourceFD(src)
	if err != nil {
		return err
	}
	var had kernel.Interest
	if re {
		had = p.lookup(fd).in // a new registration has no filters yet: close removed them
	}
	reg := p.slot(fd)
	*reg = registration{tok: tok, in: had, valid: true}
	// Read: add if newly wanted, delete if no longer wanted.
	if in&kernel.InterestRead != 0 && had&kernel.InterestRead == 0 {
		if err := p.change(fd, unix.EVFILT_READ, unix.EV_ADD|unix.EV_CLEAR); err != nil {
			return fmt.Errorf("netpoll: kevent add read fd=%d: %w", fd, err)
		}
		reg.in |= kernel.InterestRead
	}
	if in&kernel.InterestRead == 0 && had&kernel.InterestRead != 0 {
		if err := p.remove(fd, unix.EVFILT_READ); err != nil {
			return err
		}
		reg.in &^= kernel.InterestRead
	}
	// Write: always (re-)add when wanted, for the initial writable edge.
	if in&kernel.InterestWrite != 0 {
		if err := p.change(fd, unix.EVFILT_WRITE, unix.EV_ADD|unix.EV_CLEAR); err != nil {
			return fmt.Errorf("netpoll: kevent add write fd=%d: %w", fd, err)
		}
		reg.in |= kernel.InterestWrite
	}
	if in&kernel.InterestWrite == 0 && had&kernel.InterestWrite != 0 {
		if err := p.remove(fd, unix.EVFILT_WRITE); err != nil {
			return err
		}
		reg.in &^= kernel.InterestWrite
	}
	return nil
}

// Deregister deletes the filters of src and forgets its token.
func (p *Poller) Deregister(src kernel.Source) error {
	fd, err := sourceFD(src)
	if err != nil {
		return err
	}
	had := p.lookup(fd).in
	if fd < len(p.regs) {
		p.regs[fd] = registration{}
	}
	if had&kernel.InterestRead != 0 {
		if err := p.remove(fd, unix.EVFILT_READ); err != nil {
			return err
		}
	}
	if had&kernel.InterestWrite != 0 {
		if err := p.remove(fd, unix.EVFILT_WRITE); err != nil {
			return err
		}
	}
	return nil
}

// remove deletes one filter. ENOENT (the filter is already gone, e.g. the
// fd was closed and reused) is not an error.
func (p *Poller) remove(fd, filter int) error {
	err := p.change(fd, filter, unix.EV_DELETE)
	if err != nil && err != unix.ENOENT {
		return fmt.Errorf("netpoll: kevent delete filter=%d fd=%d: %w", filter, fd, err)
	}
	return nil
}

// change applies one change with its own kevent call and no event list, so
// a failure comes back as the call's errno (EV_RECEIPT, which would allow
// batching, is missing on NetBSD) and no pending event is consumed.
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

// lookup returns the registration for fd (the zero value if none).
func (p *Poller) lookup(fd int) registration {
	if fd < 0 || fd >= len(p.regs) {
		return registration{}
	}
	return p.regs[fd]
}

// slot returns the table entry for fd, growing the table as needed.
func (p *Poller) slot(fd int) *registration {
	if fd >= len(p.regs) {
		p.regs = append(p.regs, make([]registration, fd+1-len(p.regs))...)
	}
	return &p.regs[fd]
}

// Poll waits up to timeout for events and fills events[:n]. kqueue reports
// read and write readiness as separate events, so one token may appear
// twice. An EINTR is retried with the remaining timeout.
func (p *Poller) Poll(events []kernel.Event, timeout time.Duration) (int, error) {
	batch := min(len(events), len(p.raw))
	if batch == 0 {
		return 0, errEmptyBatch
	}
	n, err := waitRetrying(timeout, func(wait time.Duration) (int, error) {
		var ts *unix.Timespec // nil: wait without limit
		if wait >= 0 {
			p.ts = unix.NsecToTimespec(int64(min(wait, pollTimeoutMax)))
			ts = &p.ts
		}
		return unix.Kevent(p.kq, nil, p.raw[:batch], ts)
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
		reg := p.lookup(fd)
		if !reg.valid {
			continue
		}
		events[k] = kernel.Event{Token: reg.tok, Ready: kqueueReady(ev)}
		k++
	}
	return k
}

// kqueueReady maps one kevent to readiness bits.
func kqueueReady(ev *unix.Kevent_t) kernel.Ready {
	var r kernel.Ready
	switch ev.Filter {
	case unix.EVFILT_READ:
		// EVFILT_READ: data, a pending connection, or a FIN to read.
		r |= kernel.ReadyRead
		// EV_EOF on read: the peer shut down its write side. A non-zero
		// fflags then holds the socket error (e.g. ECONNRESET).
		if ev.Flags&unix.EV_EOF != 0 {
			r |= kernel.ReadyReadClosed
			if ev.Fflags != 0 {
				r |= kernel.ReadyError
			}
		}
	case unix.EVFILT_WRITE:
		// EVFILT_WRITE: the send buffer has room.
		r |= kernel.ReadyWrite
		// EV_EOF on write: the connection can no longer send.
		if ev.Flags&unix.EV_EOF != 0 {
			r |= kernel.ReadyWriteClosed
		}
	}
	// EV_ERROR: the kernel could not process the filter (data holds errno).
	if ev.Flags&unix.EV_ERROR != 0 {
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
