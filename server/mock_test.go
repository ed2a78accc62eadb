package server

import (
	"errors"
	"io"
	"syscall"
	"time"

	"github.com/mobsim/mobsim/kernel"
)

// A minimal scripted kernel for unit tests of the core: tests put bytes in
// streams and events in the poller by hand, so each test controls exactly
// which edges the server sees. The fake kernel (netfake) is the real model;
// this one only keeps the core's unit tests independent of it.

type mockPoller struct {
	now   time.Duration
	ready []kernel.Event
	regs  int
	// advance makes an empty Poll jump the clock by its timeout, as a
	// blocking poll that timed out would.
	advance bool
}

func (p *mockPoller) Register(kernel.Source, kernel.Token, kernel.Interest) error {
	p.regs++
	return nil
}
func (p *mockPoller) Reregister(kernel.Source, kernel.Token, kernel.Interest) error { return nil }
func (p *mockPoller) Deregister(kernel.Source) error                                { p.regs--; return nil }
func (p *mockPoller) Now() time.Duration                                            { return p.now }
func (p *mockPoller) Poll(ev []kernel.Event, timeout time.Duration) (int, error) {
	if p.advance && len(p.ready) == 0 && timeout > 0 {
		p.now += timeout
	}
	n := copy(ev, p.ready)
	p.ready = p.ready[n:]
	return n, nil
}

type mockStream struct {
	name     string
	in       []byte
	inEOF    bool
	readErr  error
	writeErr error // every write fails with it, once set
	out      []byte
	outCap   int // bytes the peer's side can take before would-block; <0 unlimited
	closed   bool
	wclosed  bool
	writes   int
	// unacked is what UnackedBytes reports (the peer acknowledges at
	// once unless a test says otherwise); noUnacked makes it fail, as a
	// kernel that cannot tell.
	unacked   int
	noUnacked bool
	aborted   bool
}

func (m *mockStream) UnackedBytes() (int, error) {
	if m.noUnacked {
		return 0, syscall.ENOTSUP
	}
	return m.unacked, nil
}

// Abort is Close with an RST.
func (m *mockStream) Abort() error {
	m.aborted = true
	return m.Close()
}

func (m *mockStream) String() string { return m.name }

func (m *mockStream) Read(p []byte) (int, error) {
	if m.closed {
		return 0, syscall.EBADF
	}
	if len(m.in) == 0 {
		if m.readErr != nil {
			return 0, m.readErr
		}
		if m.inEOF {
			return 0, io.EOF
		}
		return 0, kernel.ErrWouldBlock
	}
	n := copy(p, m.in)
	m.in = m.in[n:]
	return n, nil
}

func (m *mockStream) Write(p []byte) (int, error) {
	if m.closed {
		return 0, syscall.EBADF
	}
	m.writes++
	if m.writeErr != nil {
		return 0, m.writeErr
	}
	n := len(p)
	if m.outCap >= 0 {
		n = min(n, m.outCap-len(m.out))
	}
	if n == 0 && len(p) > 0 {
		return 0, kernel.ErrWouldBlock
	}
	m.out = append(m.out, p[:n]...)
	return n, nil
}

func (m *mockStream) Writev(bufs [][]byte) (int, error) {
	var all []byte
	for _, b := range bufs {
		all = append(all, b...)
	}
	return m.Write(all)
}

func (m *mockStream) CloseWrite() error { m.wclosed = true; return nil }
func (m *mockStream) Close() error {
	if m.closed {
		return errors.New("already closed")
	}
	m.closed = true
	return nil
}

type mockListener struct {
	pending []kernel.Stream
	err     error
	closed  bool
}

func (l *mockListener) Accept() (kernel.Stream, error) {
	if l.err != nil {
		return nil, l.err
	}
	if len(l.pending) == 0 {
		return nil, kernel.ErrWouldBlock
	}
	s := l.pending[0]
	l.pending = l.pending[1:]
	return s, nil
}

func (l *mockListener) Close() error { l.closed = true; return nil }
