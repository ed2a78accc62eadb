package echo

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mobsim/mobsim/kernel"
)

// Options are the server's limits. Zero fields take the defaults.
type Options struct {
	ReadBufferBytes int // bytes one Read asks for (default 4096)
	PendingBytesMax int // bytes read and not yet echoed per connection before reading pauses (default 64 KiB)
	EventsMax       int // events taken from one Poll (default 64)

	// StopReadingEarly is a deliberate bug, for the guide's test to catch:
	// the server reads once per readable edge instead of until
	// ErrWouldBlock. On a kernel that gives only the edges the contract
	// promises, the rest of the data then waits for an edge that never
	// comes. Never set it outside that demonstration.
	StopReadingEarly bool
}

// Server is the echo server. Like the kernel it runs on, it is used from
// one goroutine.
type Server struct {
	poller kernel.Poller
	ln     kernel.Listener
	opts   Options
	conns  []*conn        // by token-1; nil when free
	free   []kernel.Token // tokens of closed connections, reused last-freed first
	events []kernel.Event
	buf    []byte
	retry  bool // an accept failed with more than would-block: try again next Tick
}

type conn struct {
	st       kernel.Stream
	tok      kernel.Token
	out      []byte // read and not yet written back
	readable bool   // no ErrWouldBlock since the last readable edge
	eof      bool   // the peer's FIN was read: close once out is written
}

const listenerToken kernel.Token = 0

// New registers ln on p and returns the server.
func New(p kernel.Poller, ln kernel.Listener, o Options) (*Server, error) {
	o.ReadBufferBytes = orDefault(o.ReadBufferBytes, 4096)
	o.PendingBytesMax = orDefault(o.PendingBytesMax, 64<<10)
	o.EventsMax = orDefault(o.EventsMax, 64)
	if err := p.Register(ln, listenerToken, kernel.InterestRead); err != nil {
		return nil, fmt.Errorf("register listener: %w", err)
	}
	return &Server{poller: p, ln: ln, opts: o, events: make([]kernel.Event, o.EventsMax), buf: make([]byte, o.ReadBufferBytes)}, nil
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// Conns is the number of open connections.
func (s *Server) Conns() int { return len(s.conns) - len(s.free) }

// Tick polls once, waiting at most timeout, and handles the batch. An
// accept that failed (EMFILE and the like) is retried first, so the
// caller's timeout is also the retry interval.
func (s *Server) Tick(timeout time.Duration) error {
	if s.retry {
		s.accept()
	}
	n, err := s.poller.Poll(s.events, timeout)
	if err != nil && !errors.Is(err, kernel.ErrInterrupted) {
		return fmt.Errorf("poll: %w", err)
	}
	for _, ev := range s.events[:n] {
		if ev.Token == listenerToken {
			s.accept()
			continue
		}
		// An event may name a token never used, a connection closed
		// earlier in the batch, or its successor on a reused token: the
		// first two are dropped, the last is spurious, which is harmless.
		if ev.Token <= kernel.Token(len(s.conns)) && s.conns[ev.Token-1] != nil {
			c := s.conns[ev.Token-1]
			c.readable = c.readable || ev.Readable()
			s.serve(c)
		}
	}
	return nil
}

func (s *Server) accept() {
	s.retry = false
	for {
		st, err := s.ln.Accept()
		if errors.Is(err, kernel.ErrWouldBlock) {
			return
		}
		if err != nil {
			s.retry = true
			return
		}
		c := &conn{st: st, readable: true} // read at once: no edge is promised for data already there
		if k := len(s.free); k > 0 {
			c.tok, s.free = s.free[k-1], s.free[:k-1]
		} else {
			s.conns = append(s.conns, nil)
			c.tok = kernel.Token(len(s.conns))
		}
		s.conns[c.tok-1] = c
		if err := s.poller.Register(st, c.tok, kernel.InterestRead|kernel.InterestWrite); err != nil {
			s.close(c)
			continue
		}
		s.serve(c)
	}
}

// serve echoes what it can: write what is owed, read while the last
// readable edge is not used up and there is room, and repeat.
func (s *Server) serve(c *conn) {
	for {
		for len(c.out) > 0 {
			n, err := c.st.Write(c.out)
			c.out = c.out[:copy(c.out, c.out[n:])]
			if errors.Is(err, kernel.ErrWouldBlock) {
				break // the writable edge comes once there is room
			}
			if err != nil {
				s.close(c)
				return
			}
		}
		if !c.readable || c.eof || len(c.out) >= s.opts.PendingBytesMax {
			break
		}
		n, err := c.st.Read(s.buf[:min(len(s.buf), s.opts.PendingBytesMax-len(c.out))])
		c.out = append(c.out, s.buf[:n]...)
		switch {
		case errors.Is(err, kernel.ErrWouldBlock):
			c.readable = false
		case errors.Is(err, io.EOF):
			c.eof = true
		case err != nil:
			s.close(c)
			return
		}
		if s.opts.StopReadingEarly {
			c.readable = false
		}
	}
	if c.eof && len(c.out) == 0 {
		s.close(c)
	}
}

func (s *Server) close(c *conn) {
	c.st.Close() // a close error leaves nothing to do: the descriptor is gone either way
	s.conns[c.tok-1] = nil
	s.free = append(s.free, c.tok)
}
