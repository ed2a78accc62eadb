//go:build linux

package netpoll

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"golang.org/x/sys/unix"
)

// Poller is an edge-triggered epoll instance with an eventfd to wake it.
type Poller struct {
	epfd   int
	wakefd int // eventfd, registered for EPOLLIN with ReservedToken
	start  time.Time

	mu     sync.Mutex // orders Wake against Close, so Wake never writes to a reused fd
	closed bool

	raw [pollBatchMax]unix.EpollEvent // filled by epoll_wait; Poll does not allocate

	batch batcher // WriteBatch's io_uring ring or writev loop (batch_linux.go)
}

// New creates an epoll instance and its wake-up eventfd, and sets up
// WriteBatch (batch_linux.go) with the default Config.
func New() (*Poller, error) {
	return NewConfig(Config{})
}

// NewConfig is New with a Config.
func NewConfig(cfg Config) (*Poller, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	warmRuntimePoller()
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("netpoll: epoll_create1: %w", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("netpoll: eventfd: %w", err)
	}
	p := &Poller{epfd: epfd, wakefd: wakefd, start: time.Now()}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET}
	setToken(&ev, ReservedToken)
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return nil, fmt.Errorf("netpoll: epoll_ctl add eventfd: %w", err)
	}
	p.batch = startBatcher(cfg, uringSetup)
	return p, nil
}

// Register adds src with EPOLL_CTL_ADD. Registering a source twice fails
// with EEXIST.
func (p *Poller) Register(src kernel.Source, tok kernel.Token, in kernel.Interest) error {
	return p.ctl(unix.EPOLL_CTL_ADD, "add", src, tok, in)
}

// Reregister replaces the token and interest of src with EPOLL_CTL_MOD,
// which also re-arms the edge: a writable socket reports writable again.
func (p *Poller) Reregister(src kernel.Source, tok kernel.Token, in kernel.Interest) error {
	return p.ctl(unix.EPOLL_CTL_MOD, "mod", src, tok, in)
}

func (p *Poller) ctl(op int, opName string, src kernel.Source, tok kernel.Token, in kernel.Interest) error {
	if tok == ReservedToken {
		return ErrReservedToken
	}
	fd, err := sourceFD(src)
	if err != nil {
		return err
	}
	ev := unix.EpollEvent{Events: epollFlags(in)}
	setToken(&ev, tok)
	if err := unix.EpollCtl(p.epfd, op, fd, &ev); err != nil {
		return fmt.Errorf("netpoll: epoll_ctl %s fd=%d: %w", opName, fd, err)
	}
	return nil
}

// Deregister removes src with EPOLL_CTL_DEL. Closing a source removes it
// too, so Deregister is only needed for a source that stays open.
func (p *Poller) Deregister(src kernel.Source) error {
	fd, err := sourceFD(src)
	if err != nil {
		return err
	}
	// Kernels before 2.6.9 required a non-nil event for DEL; pass one.
	var ev unix.EpollEvent
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, &ev); err != nil {
		return fmt.Errorf("netpoll: epoll_ctl del fd=%d: %w", fd, err)
	}
	return nil
}

// Poll waits up to timeout for events and fills events[:n]. An EINTR is
// retried with the remaining timeout, so ErrInterrupted is never returned.
func (p *Poller) Poll(events []kernel.Event, timeout time.Duration) (int, error) {
	batch := min(len(events), len(p.raw))
	if batch == 0 {
		return 0, errEmptyBatch
	}
	n, err := waitRetrying(timeout, func(wait time.Duration) (int, error) {
		return unix.EpollWait(p.epfd, p.raw[:batch], epollTimeout(wait))
	})
	if err != nil {
		return 0, fmt.Errorf("netpoll: epoll_wait: %w", err)
	}
	return p.translate(events, n), nil
}

// translate converts raw[:n] into events and drops the wake-up event,
// draining the eventfd so that the next Wake makes a new edge.
func (p *Poller) translate(events []kernel.Event, n int) int {
	k := 0
	for i := range n {
		ev := &p.raw[i]
		tok := getToken(ev)
		if tok == ReservedToken {
			p.drainWake()
			continue
		}
		events[k] = kernel.Event{Token: tok, Ready: epollReady(ev.Events)}
		k++
	}
	return k
}

// Wake makes a blocked Poll, or the next one, return. Safe from any
// goroutine. The eventfd counter only saturates (EAGAIN) when wake-ups are
// already pending, so that error is not a failure.
func (p *Poller) Wake() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("netpoll: wake: poller is closed")
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	for {
		_, err := unix.Write(p.wakefd, one[:])
		switch err {
		case nil, unix.EAGAIN:
			return nil
		case unix.EINTR:
			continue
		}
		return fmt.Errorf("netpoll: wake: eventfd write: %w", err)
	}
}

// drainWake resets the eventfd counter. A read of an eventfd returns the
// whole counter at once, so one successful read drains it.
func (p *Poller) drainWake() {
	var buf [8]byte
	for {
		_, err := unix.Read(p.wakefd, buf[:])
		if err != unix.EINTR {
			return
		}
	}
}

// Close closes the epoll instance and the eventfd. It must not race with
// Poll; Wake after Close returns an error.
func (p *Poller) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("netpoll: close: poller is already closed")
	}
	p.closed = true
	errWake := unix.Close(p.wakefd)
	errPoll := unix.Close(p.epfd)
	errBatch := p.batch.close()
	if errPoll != nil {
		return fmt.Errorf("netpoll: close epoll fd: %w", errPoll)
	}
	if errWake != nil {
		return fmt.Errorf("netpoll: close eventfd: %w", errWake)
	}
	return errBatch
}

// epollFlags returns the epoll_ctl event mask for an interest.
func epollFlags(in kernel.Interest) uint32 {
	// EPOLLET: report transitions, not state (the seam is edge-triggered).
	// EPOLLRDHUP: report a peer's FIN even without interest in reading, as
	// the ReadClosed hint. EPOLLERR and EPOLLHUP are always reported.
	flags := uint32(unix.EPOLLET | unix.EPOLLRDHUP)
	if in&kernel.InterestRead != 0 {
		flags |= unix.EPOLLIN
	}
	if in&kernel.InterestWrite != 0 {
		flags |= unix.EPOLLOUT
	}
	return flags
}

// epollReady maps an epoll event mask to readiness bits.
func epollReady(events uint32) kernel.Ready {
	var r kernel.Ready
	// EPOLLIN: data, a pending connection, or a FIN to read.
	if events&unix.EPOLLIN != 0 {
		r |= kernel.ReadyRead
	}
	// EPOLLOUT: the send buffer has room (on TCP, at least a third free).
	if events&unix.EPOLLOUT != 0 {
		r |= kernel.ReadyWrite
	}
	// EPOLLRDHUP: the peer shut down its write side (FIN received).
	if events&unix.EPOLLRDHUP != 0 {
		r |= kernel.ReadyReadClosed
	}
	// EPOLLHUP: both directions are shut down (an RST, or FIN both ways).
	if events&unix.EPOLLHUP != 0 {
		r |= kernel.ReadyReadClosed | kernel.ReadyWriteClosed
	}
	// EPOLLERR: a pending socket error (SO_ERROR), e.g. after an RST.
	if events&unix.EPOLLERR != 0 {
		r |= kernel.ReadyError
	}
	return r
}

// epollTimeout converts a Poll timeout to epoll_wait's milliseconds: -1
// waits without limit, a positive timeout below a millisecond rounds UP so
// that Poll never spins with a zero wait, and long timeouts are capped.
func epollTimeout(timeout time.Duration) int {
	switch {
	case timeout < 0:
		return -1
	case timeout > pollTimeoutMax:
		return int(pollTimeoutMax / time.Millisecond)
	}
	return int((timeout + time.Millisecond - 1) / time.Millisecond)
}

// setToken stores tok in the event's data, the kernel's 8-byte epoll_data
// union, which x/sys/unix exposes as two int32 fields (Fd, Pad). Going
// through native byte order puts the bytes exactly where the kernel's u64
// member has them, on little- and big-endian machines alike.
func setToken(ev *unix.EpollEvent, tok kernel.Token) {
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], uint64(tok))
	ev.Fd = int32(binary.NativeEndian.Uint32(b[0:4]))
	ev.Pad = int32(binary.NativeEndian.Uint32(b[4:8]))
}

// getToken reads back the token that setToken stored.
func getToken(ev *unix.EpollEvent) kernel.Token {
	var b [8]byte
	binary.NativeEndian.PutUint32(b[0:4], uint32(ev.Fd))
	binary.NativeEndian.PutUint32(b[4:8], uint32(ev.Pad))
	return kernel.Token(binary.NativeEndian.Uint64(b[:]))
}
