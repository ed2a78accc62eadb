package server

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
)

// Every frame goes to every member, the sender included, and frames split
// across reads or coalesced in one read come out whole and in read order.
func TestBroadcastSplitAndCoalesced(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.connect(3)
	h.send(c[0], "hel")
	h.send(c[1], "a\nb\n")
	h.send(c[0], "lo\nwor")
	h.send(c[0], "ld\n")
	want := "a\nb\nhello\nworld\n"
	for _, m := range c {
		if string(m.out) != want {
			t.Fatalf("%s got %q, want %q", m.name, m.out, want)
		}
	}
	if st := h.s.Stats(); st.FramesIn != 4 || st.FramesOut != 12 {
		t.Fatalf("frames in/out %d/%d, want 4/12", st.FramesIn, st.FramesOut)
	}
}

// Several frames read in one tick leave in one write per member: the flush
// happens once per tick, after the whole batch.
func TestCoalescedFlush(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.connect(4)
	before := c[3].writes
	for _, m := range c {
		m.in = append(m.in, "x\ny\nz\n"...)
	}
	var evs []kernel.Event
	for _, m := range c {
		evs = append(evs, kernel.Event{Token: h.token(m), Ready: kernel.ReadyRead})
	}
	h.tick(evs...)
	if got := c[3].writes - before; got != 1 {
		t.Fatalf("12 frames cost %d writes to one member, want 1", got)
	}
	if len(c[3].out) != 24 {
		t.Fatalf("member got %d bytes, want 24", len(c[3].out))
	}
}

// mob framing: header split byte by byte across reads, then a frame too large.
// The earlier frame is delivered; the offender is told why and closed.
func TestMobFramingSplitHeaderAndOversize(t *testing.T) {
	h := newHarness(t, Config{Framing: FramingMob, FrameBytesMax: 16})
	c := h.connect(2)
	frame := FramingMob.Encode(nil, []byte("hi"))
	for _, b := range frame {
		h.send(c[0], string([]byte{b}))
	}
	if !bytes.Equal(c[1].out, frame) {
		t.Fatalf("c2 got %q, want %q", c[1].out, frame)
	}
	h.send(c[1], string(FramingMob.Encode(nil, make([]byte, 17))))
	if !c[1].closed && !c[1].wclosed {
		t.Fatal("offender neither closed nor shut down")
	}
	if !strings.Contains(string(c[1].out), "frame too large") {
		t.Fatalf("offender got no error: %q", c[1].out)
	}
	if !bytes.Equal(c[0].out, frame) {
		t.Fatalf("bystander got %q", c[0].out)
	}
	if h.s.Stats().Members != 1 {
		t.Fatalf("members %d, want 1", h.s.Stats().Members)
	}
}

// A 2^63 header is malformed, not merely too large.
func TestMobBadHeader(t *testing.T) {
	h := newHarness(t, Config{Framing: FramingMob})
	c := h.connect(1)
	h.send(c[0], "\x80\x00\x00\x00\x00\x00\x00\x00")
	c[0].inEOF = true
	h.tick(kernel.Event{Token: h.token(c[0]), Ready: kernel.ReadyRead})
	if got := h.s.Stats().Closed[ReasonBadHeader]; got != 1 {
		t.Fatalf("bad-header closes %d, want 1", got)
	}
}

// A line that never ends is refused as soon as it passes the limit, and the
// complete frame before it in the same read is still delivered.
func TestLineOversizeKeepsEarlierFrames(t *testing.T) {
	h := newHarness(t, Config{FrameBytesMax: 8})
	c := h.connect(2)
	h.send(c[0], "ok\n"+strings.Repeat("x", 9))
	if string(c[1].out) != "ok\n" {
		t.Fatalf("bystander got %q, want the frame before the bad one", c[1].out)
	}
	if !strings.HasPrefix(string(c[0].out), "ok\nerror: frame too large") {
		t.Fatalf("offender got %q", c[0].out)
	}
	// Exactly at the limit is fine.
	h.send(c[1], strings.Repeat("y", 8)+"\n")
	if !strings.HasSuffix(string(c[1].out), strings.Repeat("y", 8)+"\n") {
		t.Fatalf("a frame at the limit was refused: %q", c[1].out)
	}
}

// The limit also holds when the long line arrives in pieces.
func TestLineOversizeAcrossReads(t *testing.T) {
	h := newHarness(t, Config{FrameBytesMax: 8})
	c := h.connect(1)
	h.send(c[0], "12345")
	h.send(c[0], "6789")
	if got := h.s.Stats().Members; got != 0 {
		t.Fatalf("members %d after a 9-byte partial line, want 0", got)
	}
}

// The queue limit: a member that takes nothing is closed when it would be
// owed more than QueueBytesMax; the others lose nothing.
func TestQueueLimit(t *testing.T) {
	h := newHarness(t, Config{FrameBytesMax: 10, QueueBytesMax: 30})
	c := h.connect(2)
	c[1].outCap = 0 // never reads
	for i := range 3 {
		h.send(c[0], "0123456789"[:9]+"\n")
		if c[1].closed {
			t.Fatalf("closed after %d frames (%d bytes), limit is 30", i+1, (i+1)*10)
		}
	}
	h.send(c[0], "abcdefghi\n")
	if !c[1].closed {
		t.Fatal("not closed at 40 bytes owed, limit 30")
	}
	if got := h.s.Stats().Closed[ReasonQueueLimit]; got != 1 {
		t.Fatalf("queue-limit closes %d", got)
	}
	if len(c[0].out) != 40 {
		t.Fatalf("sender got %d bytes, want 40", len(c[0].out))
	}
}

// A peer's FIN: the frames before it are broadcast and the half-closed peer
// still gets its own echo before the server closes.
func TestFINDeliversEarlierFrames(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.connect(2)
	c[0].in = []byte("last\n")
	c[0].inEOF = true
	h.tick(kernel.Event{Token: h.token(c[0]), Ready: kernel.ReadyReadClosed})
	for _, m := range c {
		if string(m.out) != "last\n" {
			t.Fatalf("%s got %q", m.name, m.out)
		}
	}
	if !c[0].closed {
		t.Fatal("half-closed peer not closed after its flush")
	}
	if got := h.s.Stats().Closed[ReasonEOF]; got != 1 {
		t.Fatalf("eof closes %d", got)
	}
}

// mob's panic: one batch holds a read and a write event for one connection,
// and the read closes it. The write event must be dropped, not used.
func TestEventForConnectionClosedEarlierInBatch(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.connect(1)
	tok := h.token(c[0])
	c[0].readErr = syscall.ECONNRESET
	h.tick(kernel.Event{Token: tok, Ready: kernel.ReadyRead}, kernel.Event{Token: tok, Ready: kernel.ReadyWrite})
	st := h.s.Stats()
	if st.Closed[ReasonReset] != 1 || st.StaleEvents != 1 {
		t.Fatalf("reset closes %d, stale %d; want 1, 1", st.Closed[ReasonReset], st.StaleEvents)
	}
}

// A slot freed and reused inside one batch: the old connection's hang-up must
// not touch the new one.
func TestSlotReusedInSameBatch(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.connect(1)
	old := h.token(c[0])
	c[0].readErr = syscall.ECONNRESET
	fresh := &mockStream{name: "fresh", outCap: -1}
	h.ln.pending = append(h.ln.pending, fresh)
	h.tick(
		kernel.Event{Token: old, Ready: kernel.ReadyRead},
		kernel.Event{Token: listenerToken, Ready: kernel.ReadyRead},
		kernel.Event{Token: old, Ready: kernel.ReadyReadClosed | kernel.ReadyError},
	)
	if got := h.token(fresh); slotOf(got) != slotOf(old) || got == old {
		t.Fatalf("fresh token %#x; wanted slot %d reused with a new generation", uint64(got), slotOf(old))
	}
	if fresh.closed || h.s.Stats().Members != 1 {
		t.Fatal("the stale hang-up closed the new connection")
	}
	if h.s.Stats().StaleEvents != 1 {
		t.Fatalf("stale events %d, want 1", h.s.Stats().StaleEvents)
	}
}

// Events for tokens never issued are counted and ignored.
func TestUnknownTokens(t *testing.T) {
	h := newHarness(t, Config{})
	h.connect(1)
	h.tick(kernel.Event{Token: makeToken(99, 1), Ready: kernel.ReadyRead}, kernel.Event{Token: makeToken(0, 7), Ready: kernel.ReadyWrite | kernel.ReadyError})
	if got := h.s.Stats().StaleEvents; got != 2 {
		t.Fatalf("stale %d, want 2", got)
	}
}

// A spurious writable event with nothing queued must not close anything.
func TestSpuriousWritable(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.connect(1)
	h.tick(kernel.Event{Token: h.token(c[0]), Ready: kernel.ReadyWrite})
	if c[0].closed || h.s.Stats().Members != 1 {
		t.Fatal("spurious writable closed a healthy connection")
	}
}

// Would-block keeps output queued; the writable edge flushes the rest.
func TestWouldBlockThenWritable(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.connect(2)
	c[1].outCap = 3
	h.send(c[0], "hello\n")
	if string(c[1].out) != "hel" {
		t.Fatalf("got %q before writable", c[1].out)
	}
	c[1].outCap = -1
	h.tick(kernel.Event{Token: h.token(c[1]), Ready: kernel.ReadyWrite})
	if string(c[1].out) != "hello\n" {
		t.Fatalf("got %q after writable, want the tail", c[1].out)
	}
}

// Over ConnsMax, a client gets the one-line error and is closed; the members
// are untouched.
func TestConnsMax(t *testing.T) {
	h := newHarness(t, Config{ConnsMax: 2})
	c := h.connect(3)
	if !c[2].closed || !strings.HasPrefix(string(c[2].out), "error: server full") {
		t.Fatalf("third client: closed=%v out=%q", c[2].closed, c[2].out)
	}
	if c[0].closed || c[1].closed || h.s.Stats().Members != 2 {
		t.Fatal("members disturbed by the rejection")
	}
}

// EMFILE pauses accepting on a timer instead of spinning; once descriptors
// are back, the waiting connection is accepted.
func TestAcceptEMFILEBacksOff(t *testing.T) {
	h := newHarness(t, Config{AcceptBackoffMin: 10 * time.Millisecond})
	h.p.advance = true
	h.ln.err = syscall.EMFILE
	h.ln.pending = append(h.ln.pending, &mockStream{name: "waiting", outCap: -1})
	h.tick(kernel.Event{Token: listenerToken, Ready: kernel.ReadyRead})
	st := h.s.Stats()
	if st.AcceptPauses != 1 || st.AcceptErrors != 1 {
		t.Fatalf("pauses %d errors %d, want 1 1", st.AcceptPauses, st.AcceptErrors)
	}
	if to := h.s.pollTimeout(); to != 10*time.Millisecond {
		t.Fatalf("poll timeout %v, want the 10ms back-off", to)
	}
	// Still failing: the back-off doubles and each timer makes one attempt.
	h.tick()
	if st := h.s.Stats(); st.AcceptErrors != 2 || h.s.pollTimeout() != 20*time.Millisecond {
		t.Fatalf("errors %d timeout %v", st.AcceptErrors, h.s.pollTimeout())
	}
	h.ln.err = nil
	h.tick() // no new edge: the timer retries on its own
	if h.s.Stats().Members != 1 {
		t.Fatal("backlog stranded after EMFILE cleared")
	}
}

// ECONNABORTED concerns one connection: accepting goes on at once.
func TestAcceptAbortedContinues(t *testing.T) {
	h := newHarness(t, Config{})
	l := &abortOnce{mockListener: h.ln}
	h.s.ln = l
	h.ln.pending = append(h.ln.pending, &mockStream{name: "next", outCap: -1})
	h.tick(kernel.Event{Token: listenerToken, Ready: kernel.ReadyRead})
	if st := h.s.Stats(); st.Members != 1 || st.AcceptPauses != 0 {
		t.Fatalf("members %d pauses %d", st.Members, st.AcceptPauses)
	}
}

type abortOnce struct {
	*mockListener
	done bool
}

func (a *abortOnce) Accept() (kernel.Stream, error) {
	if !a.done {
		a.done = true
		return nil, syscall.ECONNABORTED
	}
	return a.mockListener.Accept()
}

// Idle members are told nothing and closed gracefully after IdleTimeout;
// the clock is the poller's.
func TestIdleTimeout(t *testing.T) {
	h := newHarness(t, Config{IdleTimeout: time.Second})
	c := h.connect(2)
	h.p.now += 600 * time.Millisecond
	h.send(c[0], "x\n")
	h.p.now += 600 * time.Millisecond
	h.tick()
	if !c[1].wclosed || c[0].wclosed {
		t.Fatalf("after 1.2s: idle c2 shut=%v, active c1 shut=%v", c[1].wclosed, c[0].wclosed)
	}
	c[1].inEOF = true
	h.tick(kernel.Event{Token: h.token(c[1]), Ready: kernel.ReadyRead})
	if !c[1].closed || h.s.Stats().Closed[ReasonIdle] != 1 {
		t.Fatal("idle connection not closed after the peer's FIN")
	}
}

// Graceful shutdown stops accepting, flushes what was accepted, sends FIN,
// and closes each connection as soon as that cannot destroy output in
// flight: at the peer's FIN, or once the peer has acknowledged everything
// (the ack timer asks the kernel 1 ms after the FIN, then backing off). A
// peer that took everything but never answers is closed then, long before
// the deadline, and counts as graceful. On a kernel that cannot count
// unacknowledged bytes the silent peer waits for the deadline instead and
// counts as shutdown-timeout: the server cannot know it got everything.
func TestShutdownFlushes(t *testing.T) {
	for _, counts := range []bool{true, false} {
		h := newHarness(t, Config{ShutdownTimeout: time.Second})
		h.p.advance = true
		c := h.connect(2)
		c[1].outCap, c[1].unacked, c[1].noUnacked = 2, 3, !counts
		h.send(c[0], "bye\n")
		h.s.Shutdown()
		if !h.ln.closed {
			t.Fatal("listener still open")
		}
		c[1].outCap = -1
		h.tick(kernel.Event{Token: h.token(c[1]), Ready: kernel.ReadyWrite})
		if string(c[1].out) != "bye\n" || !c[1].wclosed {
			t.Fatalf("got %q, shut down %v", c[1].out, c[1].wclosed)
		}
		c[0].inEOF = true // one peer answers with its FIN: closed at once
		h.tick(kernel.Event{Token: h.token(c[0]), Ready: kernel.ReadyRead})
		if !c[0].closed || c[1].closed {
			t.Fatalf("closed: answering peer %v, silent peer %v", c[0].closed, c[1].closed)
		}
		h.tick()
		if c[1].closed {
			t.Fatal("closed the silent peer while it had not acknowledged everything")
		}
		c[1].unacked = 0 // its ACK comes
		for i := 0; i < 20 && !h.s.Done(); i++ {
			h.tick()
		}
		st := h.s.Stats()
		switch {
		case counts && (!h.s.Done() || h.p.now > 100*time.Millisecond || st.Closed[ReasonShutdown] != 2):
			t.Fatalf("done %v at %v, closes %v; want done within 100 ms, 2 for shutdown", h.s.Done(), h.p.now, st.Closed)
		case !counts && (!h.s.Done() || h.p.now != time.Second || st.Closed[ReasonShutdown] != 1 || st.Closed[ReasonShutdownTimeout] != 1):
			t.Fatalf("no count: done %v at %v, closes %v; want done at the 1s deadline, 1 shutdown, 1 shutdown-timeout", h.s.Done(), h.p.now, st.Closed)
		}
		if counts && (st.AckChecks == 0 || c[1].aborted) {
			t.Fatalf("%d ack checks, aborted %v", st.AckChecks, c[1].aborted)
		}
	}
}

// A peer that does not take its output is closed at the shutdown deadline,
// counted apart from the graceful closes.
func TestShutdownDeadline(t *testing.T) {
	h := newHarness(t, Config{ShutdownTimeout: time.Second, LingerTimeout: time.Hour})
	h.p.advance = true
	c := h.connect(2)
	c[1].outCap = 2
	h.send(c[0], "bye\n")
	h.s.Shutdown()
	for i := 0; i < 10 && !h.s.Done(); i++ {
		h.tick()
	}
	if !h.s.Done() || h.p.now != time.Second {
		t.Fatalf("done %v at %v; want done at the 1s deadline", h.s.Done(), h.p.now)
	}
	st := h.s.Stats()
	if st.Closed[ReasonShutdown] != 1 || st.Closed[ReasonShutdownTimeout] != 1 {
		t.Fatalf("closes %v", st.Closed)
	}
}

// Read fairness: a connection with more than its per-tick budget is read
// again on the next tick without any new event.
func TestReadBudgetRemembered(t *testing.T) {
	h := newHarness(t, Config{ReadBytesPerTickMax: 4, ReadBufferBytes: 4})
	c := h.connect(1)
	h.send(c[0], "aaaa\nbbbb\n")
	if got := string(c[0].out); got != "" && got != "aaaa\n" {
		t.Fatalf("first tick got %q", got)
	}
	for range 3 {
		h.tick() // no events
	}
	if string(c[0].out) != "aaaa\nbbbb\n" {
		t.Fatalf("got %q: budget-cut read not resumed", c[0].out)
	}
}

// Bad configuration is refused with every problem named.
func TestConfigErrors(t *testing.T) {
	_, err := New(&mockPoller{}, &mockListener{}, Config{FrameBytesMax: 100, QueueBytesMax: 50, ConnsMax: -1})
	if err == nil {
		t.Fatal("accepted a queue smaller than a frame")
	}
	for _, want := range []string{"QueueBytesMax", "ConnsMax"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if _, err := New(&mockPoller{}, &mockListener{}, Config{FrameBytesMax: 100, QueueBytesMax: 101}); err != nil {
		t.Fatalf("queue of exactly one line frame refused: %v", err)
	}
}

// The poll error other than an interrupt is returned with context.
func TestPollInterruptedIsNotAnError(t *testing.T) {
	h := newHarness(t, Config{})
	h.s.poller = interruptingPoller{h.p}
	if err := h.s.Tick(); err != nil {
		t.Fatal(err)
	}
	if h.s.Stats().PollErrors != 1 {
		t.Fatal("interrupt not counted")
	}
}

type interruptingPoller struct{ *mockPoller }

func (interruptingPoller) Poll([]kernel.Event, time.Duration) (int, error) {
	return 0, errors.Join(kernel.ErrInterrupted)
}

// A client that ignores its error frame and keeps sending is cut once it
// has sent LingerBytesMax more, not after LingerTimeout: closing with its
// input unread resets the connection (an abort), so it counts as
// linger-bytes. Ignoring means not taking it: its count of unacknowledged
// bytes stood still for ackStallMin. One whose count still falls is about
// to get its error frame, which the reset would destroy: it waits. If its
// peer has acknowledged everything, the close costs it nothing and counts
// as the reason it left for.
func TestLingerBytesMax(t *testing.T) {
	for _, peer := range []string{"stalled", "taking", "acked"} {
		h := newHarness(t, Config{FrameBytesMax: 8, LingerBytesMax: 100, LingerTimeout: time.Hour})
		c := h.connect(1)
		if peer != "acked" {
			c[0].unacked = 70
		}
		h.send(c[0], strings.Repeat("x", 9))
		if c[0].closed || !strings.HasPrefix(string(c[0].out), "error: ") {
			t.Fatalf("closed %v, out %q", c[0].closed, c[0].out)
		}
		h.p.now += ackCheckMin
		h.tick() // the ack timer reads the count
		if peer == "acked" {
			if !c[0].closed || c[0].aborted || h.s.Stats().Closed[ReasonFrameTooLarge] != 1 {
				t.Fatalf("acked peer: closed %v, aborted %v, reasons %v; want closed for frame-too-large at the ack check",
					c[0].closed, c[0].aborted, h.s.Stats().Closed)
			}
			continue
		}
		h.send(c[0], strings.Repeat("y", 100)) // exactly the limit: still waiting
		if c[0].closed {
			t.Fatalf("closed at exactly LingerBytesMax (%v)", h.s.Stats().Closed)
		}
		h.p.now += ackStallMin
		if peer == "taking" {
			c[0].unacked = 20
		}
		h.send(c[0], "y")
		want := map[string]CloseReason{"stalled": ReasonLingerBytes, "taking": ReasonNone}[peer]
		if closed := want != ReasonNone; c[0].closed != closed || h.s.Stats().Closed[want] != uint64(btoi(closed)) || c[0].aborted != (want == ReasonLingerBytes) {
			t.Fatalf("%s peer: closed %v, aborted %v, reasons %v; want %v", peer, c[0].closed, c[0].aborted, h.s.Stats().Closed, want)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// A leaving connection still owed output is never cut for what it sends:
// it cannot know it should stop, since the server's FIN comes only after
// the flush. It is read and dropped (at its input rate) until it has taken
// its output, and then closed as soon as it has acknowledged it.
func TestLingerBytesNeverCutsOwed(t *testing.T) {
	h := newHarness(t, Config{LingerBytesMax: 10, LingerTimeout: time.Hour, ShutdownTimeout: time.Hour})
	c := h.connect(2)
	c[1].outCap = 0 // takes nothing yet
	h.send(c[0], "for you\n")
	h.s.Shutdown()
	for range 5 {
		h.send(c[1], strings.Repeat("chat\n", 20))
	}
	if c[1].closed {
		t.Fatalf("a connection owed output was closed (%v) for what it sent", h.s.Stats().Closed)
	}
	c[1].outCap = -1
	h.tick(kernel.Event{Token: h.token(c[1]), Ready: kernel.ReadyWrite | kernel.ReadyRead})
	h.send(c[1], strings.Repeat("chat\n", 20))
	if string(c[1].out) != "for you\n" || !c[1].closed || h.s.Stats().Closed[ReasonShutdown] != 1 {
		t.Fatalf("got %q, closed %v, reasons %v; want its frame, then a close for shutdown", c[1].out, c[1].closed, h.s.Stats().Closed)
	}
}

// Budgets are per connection per tick: duplicate events and remembered
// work in the same tick share one budget, so one busy peer cannot take more
// than its share of a tick.
func TestBudgetsPerTick(t *testing.T) {
	h := newHarness(t, Config{ReadBytesPerTickMax: 4, ReadBufferBytes: 4, WriteCallsPerTickMax: 1})
	c := h.connect(1)
	tok := h.token(c[0])
	c[0].in = []byte("aaaaaaa\nbb\n")
	h.tick(kernel.Event{Token: tok, Ready: kernel.ReadyRead}, kernel.Event{Token: tok, Ready: kernel.ReadyRead}, kernel.Event{Token: tok, Ready: kernel.ReadyRead | kernel.ReadyWrite})
	if got := len(c[0].in); got != 7 {
		t.Fatalf("%d bytes left unread after one tick; want 7 (budget 4)", got)
	}
	for range 4 {
		h.tick()
	}
	if string(c[0].out) != "aaaaaaa\nbb\n" {
		t.Fatalf("got %q after the budget-cut reads resumed", c[0].out)
	}
}

// A huge ShutdownTimeout must not wrap the deadline into the past.
func TestShutdownTimeoutHuge(t *testing.T) {
	h := newHarness(t, Config{ShutdownTimeout: time.Duration(math.MaxInt64), LingerTimeout: time.Hour})
	h.p.now = time.Hour
	h.connect(1)
	h.s.Shutdown()
	h.tick()
	if st := h.s.Stats(); st.Closed[ReasonShutdownTimeout] != 0 || st.Conns != 1 {
		t.Fatalf("closes %v with %d open; the deadline wrapped", st.Closed, st.Conns)
	}
}

// A write that finds the peer reset must not lose what the peer sent before
// its reset: the next read phase reads it (the frame is broadcast), then the
// read meets the reset and the connection closes for reset. The flush that
// failed only marks the connection: it neither reads nor closes.
func TestWriteErrorSalvagesInput(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.connect(2)
	c[1].in = []byte("last words\n")
	c[1].readErr = syscall.ECONNRESET
	c[1].writeErr = syscall.EPIPE
	h.send(c[0], "hello\n") // flushing it to c[1] fails before c[1]'s read event
	if c[1].closed || len(c[1].in) == 0 {
		t.Fatalf("the failed flush closed c1 (%v) or read its input (%q left): flush must only write", c[1].closed, c[1].in)
	}
	if to := h.s.pollTimeout(); to != 0 {
		t.Fatalf("poll timeout %v with a salvaged frame still to flush; want 0", to)
	}
	h.tick()
	if !bytes.HasSuffix(c[0].out, []byte("last words\n")) {
		t.Fatalf("bystander got %q; the reset peer's last frame was lost", c[0].out)
	}
	if st := h.s.Stats(); st.Closed[ReasonReset] != 1 || st.Closed[ReasonWriteError] != 0 {
		t.Fatalf("closes %v, want one reset", st.Closed)
	}
}
