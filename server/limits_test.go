package server

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
)

// The limits of issue 11 at their boundaries, on the scripted kernel: the
// input budget, the frame timeout, idle time counted in frames, the input
// rate, and the abortive eviction. Each test puts the server exactly at the
// limit, then one step past it.

// holding returns the capacity of m's partial-frame buffer.
func (h *harness) holding(m *mockStream) int {
	h.t.Helper()
	return cap(h.s.tab.get(h.token(m)).partial)
}

// The budget holds exactly InputBytesMax of unfinished frames; one byte of
// a frame more evicts the largest holder, told why, and the newcomer is
// served. A buffer grows to what its frame can need and never past it.
func TestInputBudgetAtTheBoundary(t *testing.T) {
	h := newHarness(t, Config{FrameBytesMax: 16, QueueBytesMax: 1024, InputBytesMax: 32, PartialKeepBytesMax: 1})
	c := h.connect(3)
	h.send(c[0], strings.Repeat("a", 16)) // a whole line but its newline
	h.send(c[1], strings.Repeat("b", 16))
	if st := h.s.Stats(); st.InputBytes != 32 || st.InputEvictions != 0 || h.holding(c[0]) != 16 {
		t.Fatalf("at the budget: held %d, evictions %d, buffer %d; want 32, 0, 16 (no overshoot)", st.InputBytes, st.InputEvictions, h.holding(c[0]))
	}
	h.send(c[2], "c") // one byte past it
	st := h.s.Stats()
	if st.InputEvictions != 1 || st.InputBytes > 32 || st.InputBytesHi > 32 {
		t.Fatalf("past the budget: %d evictions, held %d, high-water %d; want 1, at most 32", st.InputEvictions, st.InputBytes, st.InputBytesHi)
	}
	told := 0
	for _, m := range c[:2] {
		if strings.HasPrefix(string(m.out), "error: input budget") {
			told++
		}
	}
	if told != 1 {
		t.Fatalf("%d of the two holders were told why; want exactly one", told)
	}
	h.send(c[2], "c\n")
	if st := h.s.Stats(); st.FramesIn != 1 || st.InputBytes > 32 {
		t.Fatalf("the newcomer's frame: %d frames in, %d held", st.FramesIn, st.InputBytes)
	}

	// A mob frame's buffer grows by doubling, to its exact size at most.
	h = newHarness(t, Config{Framing: FramingMob, FrameBytesMax: 1000, InputBytesMax: 4096})
	m := h.connect(1)[0]
	h.send(m, string(FramingMob.Encode(nil, []byte(strings.Repeat("z", 300))))[:200])
	if got := h.holding(m); got > MobHeaderBytes+300 || got < 200 {
		t.Fatalf("a 308-byte frame's buffer after 200 bytes has capacity %d; want 200 to 308", got)
	}
}

// A frame not complete FrameTimeout after its first byte makes its sender
// leave, told why; at one nanosecond less it stays. A frame that completes
// starts the clock again for the next.
func TestFrameTimeoutAtTheBoundary(t *testing.T) {
	h := newHarness(t, Config{FrameTimeout: time.Second, IdleTimeout: -1})
	c := h.connect(1)
	h.p.now += 100 * time.Millisecond
	h.send(c[0], "ab\ncd") // a frame, and the start of the next at 100 ms
	h.p.now += time.Second - time.Nanosecond
	h.tick()
	if c[0].wclosed || strings.Contains(string(c[0].out), "error") {
		t.Fatalf("left before its frame timeout: out %q", c[0].out)
	}
	h.p.now += time.Nanosecond
	h.tick()
	if !strings.HasSuffix(string(c[0].out), "(limit 1s)\n") || !strings.Contains(string(c[0].out), "error: frame timeout") || !c[0].wclosed {
		t.Fatalf("at its frame timeout: out %q, FIN %v; want the error frame, then the FIN", c[0].out, c[0].wclosed)
	}
	h.p.now += ackCheckMin
	h.tick()
	if h.s.Stats().Closed[ReasonFrameTimeout] != 1 {
		t.Fatalf("closes %v; want one for frame-timeout", h.s.Stats().Closed)
	}
}

// Idle time counts complete frames: bytes of a frame that never completes
// do not keep a member; a complete frame does. The idle leave is told why.
func TestIdleCountsFrames(t *testing.T) {
	h := newHarness(t, Config{IdleTimeout: time.Second, FrameTimeout: -1})
	c := h.connect(2)
	for range 2 {
		h.p.now += 400 * time.Millisecond
		h.send(c[0], "x")   // a byte of a frame
		h.send(c[1], "y\n") // a frame
	}
	h.p.now += 200 * time.Millisecond // 1 s after joining
	h.tick()
	if !strings.Contains(string(c[0].out), "error: idle: no complete frame for 1s (limit 1s)") || strings.Contains(string(c[1].out), "error") {
		t.Fatalf("dribbler got %q, talker %q; want the dribbler told it is idle, the talker nothing", c[0].out, c[1].out)
	}
}

// The input rate: a connection is read its burst at once, then no faster
// than the rate; the rest waits in its socket and is read when the timer
// resumes it (no edge comes for it). Nothing is lost.
func TestInputRateAtTheBoundary(t *testing.T) {
	h := newHarness(t, Config{InputRateBytesPerSec: 1000, InputBurstBytes: 10, FrameBytesMax: 16, FrameTimeout: -1, IdleTimeout: -1})
	c := h.connect(1)
	h.send(c[0], strings.Repeat("abcd\n", 5)) // 25 bytes
	if st := h.s.Stats(); st.BytesIn != 10 || st.FramesIn != 2 || st.Throttles != 1 {
		t.Fatalf("first tick: %d bytes, %d frames, %d throttles; want the 10-byte burst, 2 frames, 1 throttle", st.BytesIn, st.FramesIn, st.Throttles)
	}
	if d := h.s.pollTimeout(); d != 10*time.Millisecond {
		t.Fatalf("poll timeout %v with a connection stopped; want 10ms (10 bytes at 1000/s)", d)
	}
	h.p.now += 10*time.Millisecond - time.Nanosecond
	h.tick()
	if st := h.s.Stats(); st.BytesIn != 10 {
		t.Fatalf("read %d bytes before the rate allowed more", st.BytesIn)
	}
	h.p.now += time.Nanosecond
	h.tick()
	if st := h.s.Stats(); st.BytesIn != 20 || st.FramesIn != 4 {
		t.Fatalf("after 10 ms: %d bytes, %d frames; want 20 and 4", st.BytesIn, st.FramesIn)
	}
	h.p.now += time.Second
	h.tick()
	if st := h.s.Stats(); st.BytesIn != 25 || st.FramesIn != 5 || len(c[0].in) != 0 {
		t.Fatalf("in the end: %d bytes, %d frames, %d unread; want all 25 and 5", st.BytesIn, st.FramesIn, len(c[0].in))
	}
}

// Eviction for queue-limit is abortive (its kernel send buffer goes with
// it); a graceful close is not.
func TestQueueLimitAborts(t *testing.T) {
	h := newHarness(t, Config{FrameBytesMax: 8, QueueBytesMax: 20})
	c := h.connect(2)
	c[1].outCap = 0 // never takes anything
	for range 3 {
		h.send(c[0], "12345678\n")
	}
	if !c[1].closed || !c[1].aborted || h.s.Stats().Closed[ReasonQueueLimit] != 1 {
		t.Fatalf("closed %v, aborted %v, closes %v; want an abortive queue-limit close", c[1].closed, c[1].aborted, h.s.Stats().Closed)
	}
	c[0].inEOF = true
	h.tick(kernel.Event{Token: h.token(c[0]), Ready: kernel.ReadyRead})
	if !c[0].closed || c[0].aborted {
		t.Fatalf("the EOF close: closed %v, aborted %v; want a plain close", c[0].closed, c[0].aborted)
	}
}

// A shutdown that waits says, once a second, for whom and for what: the
// connections still being written what they are owed (and how much), and
// those written everything whose peers have not acknowledged it.
func TestShutdownSaysWhatItWaitsFor(t *testing.T) {
	var log strings.Builder
	h := newHarness(t, Config{ShutdownTimeout: 10 * time.Second, LingerTimeout: time.Hour,
		Logger: slog.New(slog.NewTextHandler(&log, nil))})
	c := h.connect(3)
	c[1].outCap = 0  // takes nothing
	c[2].unacked = 5 // takes everything, acknowledges nothing
	h.send(c[0], "twelve bytes\n")
	h.s.Shutdown()
	h.tick()
	h.p.now += time.Second
	h.tick()
	want := "msg=\"shutdown waiting\" conns=2 flushing=1 owed_bytes=13 awaiting_ack_or_fin=1 unacked_bytes=5"
	if !strings.Contains(log.String(), want) {
		t.Fatalf("log lacks %q:\n%s", want, log.String())
	}
}
