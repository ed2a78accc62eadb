package server

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/mobsim/mobsim/kernel"
)

// Server is the multi-echo server core. It is single-threaded: every method
// must be called from one goroutine, and it starts none.
type Server struct {
	cfg    Config
	poller kernel.Poller
	ln     kernel.Listener
	log    *slog.Logger

	tab     table
	members []*conn // receive every broadcast (order irrelevant: all get the same ring)
	lag     lagHeap // connections holding ring bytes, furthest behind first
	ring    ring
	idle    timerList // members by their last complete frame
	linger  timerList // leaving connections by when they left
	framing timerList // members holding a partial frame, by when it began
	rate    timerList // connections the input rate stopped reading, by when

	throttledNow int      // connections on the rate list
	holders      holdHeap // connections holding a partial-frame buffer, largest first
	inputHeld    int      // bytes of partial-frame buffers (their capacity): at most InputBytesMax

	// Connections that were written everything and their FIN, waiting for
	// the peer to acknowledge it (kernel.UnackedCounter) or to send its
	// own FIN. No edge announces an acknowledgement, so a timer checks
	// them: within ackCheckMin of the first one joining (a later joiner
	// never postpones a due check), then doubling up to ackCheckMax.
	ackWait []*conn
	ackAt   time.Duration
	ackStep time.Duration

	events []kernel.Event
	rbuf   []byte
	iov    [3][]byte

	// The poller's batched writes, if it offers them: a tick's fan-out
	// then goes to the kernel as one batch (batchTo: what each write's
	// result applies to). Both slices are reused from tick to tick.
	bw      kernel.BatchWriter
	batch   []kernel.BatchWrite
	batchTo []batchItem

	// Work the server remembers instead of waiting for an edge the contract
	// does not promise: reads and writes cut short by a budget, and
	// connections a write failed on, whose input the next read phase drains.
	readQ, flushQ, brokenQ connQueue
	appended               bool // a frame was appended this tick: flush members
	acceptAgain            bool // accept budget ran out before would-block

	acceptPaused  bool
	acceptResume  time.Duration
	acceptBackoff time.Duration
	acceptTick    uint64 // tick whose accept budget acceptLeft is
	acceptLeft    int

	// tick counts Ticks: the clock of the per-tick budgets (Stats reports
	// it, but counters are for reading, not for keeping time).
	tick       uint64
	now        time.Duration
	shutdown   bool
	shutdownAt time.Duration
	shutLogAt  time.Duration // when shutdown next logs what it waits for
	lnClosed   bool

	stats Stats
}

// New builds a server on poller that accepts from ln, and registers ln.
func New(poller kernel.Poller, ln kernel.Listener, cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	s := &Server{
		cfg:    cfg,
		poller: poller,
		ln:     ln,
		log:    cfg.Logger,
		events: make([]kernel.Event, cfg.EventsPerTickMax),
		rbuf:   make([]byte, cfg.ReadBufferBytes),
		now:    poller.Now(),

		framing: timerList{kind: timerFrame},
		rate:    timerList{kind: timerRate},
	}
	s.bw, _ = poller.(kernel.BatchWriter)
	if err := poller.Register(ln, listenerToken, kernel.InterestRead); err != nil {
		return nil, fmt.Errorf("register listener: %w", err)
	}
	return s, nil
}

// Config returns the configuration in force, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	st := s.stats
	st.Conns = s.tab.live
	st.Members = len(s.members)
	st.QueuedBytes = s.ring.used()
	st.InputBytes = uint64(s.inputHeld)
	st.Throttled = s.throttledNow
	st.Ticks = s.tick
	return st
}

// Run ticks until shutdown completes. stop is asked before every tick; the
// first time it returns true, graceful shutdown starts. The loop has no other
// exit: an event loop must not end while it has connections to serve.
func (s *Server) Run(stop func() bool) error {
	for !s.Done() {
		if !s.shutdown && stop != nil && stop() {
			s.Shutdown()
			continue
		}
		if err := s.Tick(); err != nil {
			return err
		}
	}
	return nil
}

// Done reports whether a shutdown has finished: every connection is closed.
func (s *Server) Done() bool { return s.shutdown && s.tab.live == 0 }

// Tick polls once, reads (connections a write failed on first, then the
// batch, then reads a budget cut short), accepts, runs due timers, and
// flushes output. Data flows one way: reads feed the broadcast log, flushes
// only write it out, and what a write finds wrong waits for the next read
// phase.
func (s *Server) Tick() error {
	s.tick++
	n, err := s.poller.Poll(s.events, s.pollTimeout())
	if errors.Is(err, kernel.ErrInterrupted) {
		s.stats.PollErrors++
		n, err = 0, nil
	}
	if err != nil {
		return fmt.Errorf("poll: %w", err)
	}
	s.now = s.poller.Now()
	s.drainBroken()
	for _, ev := range s.events[:n] {
		s.handle(ev)
	}
	s.resumeReads()
	if s.acceptAgain {
		s.acceptAgain = false
		s.accept()
	}
	s.runTimers()
	s.flushAll()
	return nil
}

// pollTimeout is 0 while remembered work waits, else the time to the next
// timer, else -1.
func (s *Server) pollTimeout() time.Duration {
	if s.workWaits() {
		return 0
	}
	now := s.poller.Now() // this tick's work took time too
	next := time.Duration(-1)
	consider := func(at time.Duration) {
		d := max(at-now, 0)
		if next < 0 || d < next {
			next = d
		}
	}
	if c := s.idle.head; c != nil && s.cfg.IdleTimeout > 0 {
		consider(after(s.idle.since(c), s.cfg.IdleTimeout))
	}
	if c := s.linger.head; c != nil && !s.shutdown {
		consider(after(s.linger.since(c), s.cfg.LingerTimeout))
	}
	if c := s.framing.head; c != nil && s.cfg.FrameTimeout > 0 {
		consider(after(s.framing.since(c), s.cfg.FrameTimeout))
	}
	if c := s.rate.head; c != nil {
		consider(s.rate.since(c) + s.rateResume())
	}
	if len(s.ackWait) > 0 {
		consider(s.ackAt)
	}
	if s.acceptPaused {
		consider(s.acceptResume)
	}
	if s.shutdown {
		consider(s.shutdownAt)
		consider(s.shutLogAt)
	}
	return next
}

// workWaits reports work remembered for the next tick, which no edge will
// announce: reads and accepts a budget cut short, flushes, connections a
// write failed on. (No frame is appended after a tick's fan-out: only the
// read phase broadcasts. Check asserts it.)
func (s *Server) workWaits() bool {
	return s.readQ.len() > 0 || s.flushQ.len() > 0 || s.brokenQ.len() > 0 || s.acceptAgain
}

// handle dispatches one event. The token is checked first: an event may name
// a connection closed earlier in this batch, or a slot since reused.
func (s *Server) handle(ev kernel.Event) {
	s.stats.Events++
	if ev.Token == listenerToken {
		if s.lnClosed {
			s.stats.StaleEvents++
			return
		}
		if ev.Readable() {
			s.accept()
		}
		return
	}
	c := s.tab.get(ev.Token)
	if c == nil {
		s.stats.StaleEvents++
		return
	}
	// Read first: a FIN or error hint comes with data sent before it.
	// The hint is remembered: the end it announces waits behind the
	// bytes, and a short read before it is not the end.
	if ev.Ready&endHints != 0 {
		c.readToEnd = true
	}
	if ev.Readable() {
		s.readReady(c)
	}
	if ev.Writable() && c.state != stateClosed {
		c.wblocked = false
		s.queueFlush(c)
	}
}

// endHints are the readiness hints that announce a stream's end.
const endHints = kernel.ReadyReadClosed | kernel.ReadyWriteClosed | kernel.ReadyError

// Shutdown starts a graceful shutdown: the listener closes, every member
// stops receiving new frames, and what each is owed is flushed within
// ShutdownTimeout. Run returns once all are closed.
func (s *Server) Shutdown() {
	if s.shutdown {
		return
	}
	s.now = s.poller.Now()
	s.shutdown = true
	s.shutdownAt = after(s.now, s.cfg.ShutdownTimeout)
	s.shutLogAt = after(s.now, shutdownLogEvery)
	s.closeListener()
	for len(s.members) > 0 {
		s.leave(s.members[len(s.members)-1], ReasonShutdown, nil)
	}
	s.log.Info("shutting down", "conns", s.tab.live, "deadline", s.cfg.ShutdownTimeout)
}

// closeLate closes a leaving connection whose time is up. It first drains
// what the peer sent (lastDrain), so the close does not reset output still
// in flight, and counts the close under the reason it left for when the
// peer has acknowledged everything it was owed (it merely never sent its
// FIN), else as timedOut: what it had not acknowledged may be lost.
func (s *Server) closeLate(c *conn, timedOut CloseReason) {
	if s.acked(c) {
		s.closeDrained(c, c.reason)
		return
	}
	s.lastDrain(c)
	if c.state != stateClosed {
		s.closeConn(c, timedOut, nil)
	}
}

// refill gives c this tick's budgets the first time it is served in it.
func (s *Server) refill(c *conn) {
	if c.budgetTick != s.tick {
		c.budgetTick = s.tick
		c.readLeft = s.cfg.ReadBytesPerTickMax
		c.writesLeft = s.cfg.WriteCallsPerTickMax
	}
}

// after is now+d, saturating instead of wrapping for huge durations.
func after(now, d time.Duration) time.Duration {
	if d > math.MaxInt64-now {
		return math.MaxInt64
	}
	return now + d
}

// isWouldBlock is errors.Is(err, ErrWouldBlock) with the common case first:
// it runs after every read and write.
func isWouldBlock(err error) bool {
	return err == kernel.ErrWouldBlock || errors.Is(err, kernel.ErrWouldBlock)
}

func (s *Server) closeListener() {
	if s.lnClosed {
		return
	}
	s.lnClosed = true
	if err := s.ln.Close(); err != nil {
		s.log.Warn("close listener", "err", err)
	}
}

// runTimers resumes connections the input rate stopped, tells idle members
// and those whose frame is overdue why they must leave, closes leaving
// connections their peers have acknowledged, those past their linger time
// and everything at the shutdown deadline, and resumes a paused accept.
func (s *Server) runTimers() {
	s.resumeThrottled()
	if s.cfg.IdleTimeout > 0 {
		for c := s.idle.head; c != nil && s.now-s.idle.since(c) >= s.cfg.IdleTimeout; c = s.idle.head {
			idle := s.now - s.idle.since(c)
			s.log.Info("idle timeout", "conn", c.stream, "idle", idle)
			s.leave(c, ReasonIdle, s.errorFrame("error: idle: no complete frame for %v (limit %v)", idle, s.cfg.IdleTimeout))
		}
	}
	if s.cfg.FrameTimeout > 0 {
		for c := s.framing.head; c != nil && s.now-s.framing.since(c) >= s.cfg.FrameTimeout; c = s.framing.head {
			s.log.Info("frame timeout", "conn", c.stream, "partial_bytes", len(c.partial))
			s.leave(c, ReasonFrameTimeout, s.errorFrame("error: frame timeout: a frame not complete %v after its first byte (limit %v)",
				s.now-s.framing.since(c), s.cfg.FrameTimeout))
		}
	}
	if len(s.ackWait) > 0 && s.now >= s.ackAt {
		s.checkAcks()
	}
	// A peer that took everything but never sent its FIN (nc does not) is
	// closed under the reason it left for; one still owed output timed out.
	// In a shutdown the shutdown deadline is every leaver's: the time the
	// operator gave for flushing, which a shorter LingerTimeout must not
	// cut into for a client still taking its output.
	for c := s.linger.head; !s.shutdown && c != nil && s.now-s.linger.since(c) >= s.cfg.LingerTimeout; c = s.linger.head {
		s.closeLate(c, ReasonLingerTimeout)
	}
	if s.shutdown && s.now >= s.shutdownAt {
		for c := s.linger.head; c != nil; c = s.linger.head {
			s.closeLate(c, ReasonShutdownTimeout)
		}
	}
	if s.shutdown && s.now >= s.shutLogAt && s.tab.live > 0 {
		s.shutLogAt = after(s.now, shutdownLogEvery)
		s.logShutdownWait()
	}
	if s.acceptPaused && s.now >= s.acceptResume {
		s.acceptPaused = false
		s.accept()
	}
}
