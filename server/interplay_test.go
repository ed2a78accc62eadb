package server

import (
	"strings"
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
)

// The limits of issue 11 against each other: where one limit's work must
// not make another fire, or one limit's account must not be another's.

// Goal: the input rate never times out a client for the server's own
// pause, so a config whose pause and largest frame do not fit in
// IdleTimeout or FrameTimeout is refused, at the boundary; and a burst
// under a millisecond of the rate (the pause's floor) is refused. Method:
// configs one byte per second either side of InputRateFloor, and of the
// burst's bound.
func TestInputRateFitsTheTimeouts(t *testing.T) {
	for _, cfg := range []Config{
		{FrameBytesMax: 4000, FrameTimeout: time.Second, IdleTimeout: -1, InputBurstBytes: 100},
		{FrameBytesMax: 64 << 10, IdleTimeout: 30 * time.Millisecond, FrameTimeout: -1, InputBurstBytes: 4096},
		{Framing: FramingMob, FrameBytesMax: 16, FrameTimeout: 50 * time.Millisecond, IdleTimeout: time.Hour, InputBurstBytes: 16},
	} {
		floor := cfg.InputRateFloor()
		cfg.InputRateBytesPerSec = floor - 1
		cfg.InputBurstBytes = max(cfg.InputBurstBytes, (floor+999)/1000)
		if err := cfg.Check(); err == nil || !strings.Contains(err.Error(), "too slow for the timeouts") {
			t.Errorf("%d B/s (floor %d) accepted: %v", floor-1, floor, err)
		}
		cfg.InputRateBytesPerSec = floor
		if err := cfg.Check(); err != nil {
			t.Errorf("the floor %d B/s refused: %v", floor, err)
		}
		// What the floor promises: a largest frame and the pause, within
		// each timeout that is on.
		f := cfg.filled()
		read := time.Duration(int64(f.FrameBytesMax+f.Framing.headerBytes())*int64(time.Second)/int64(floor)) + f.RateResume()
		for _, to := range []time.Duration{f.IdleTimeout, f.FrameTimeout} {
			if to > 0 && read >= to {
				t.Errorf("at the floor %d B/s a frame takes %v with its pause, timeout %v", floor, read, to)
			}
		}
	}
	cfg := Config{InputRateBytesPerSec: 5_000_000, InputBurstBytes: 4999, FrameTimeout: -1, IdleTimeout: -1}
	if err := cfg.Check(); err == nil || !strings.Contains(err.Error(), "must hold a millisecond") {
		t.Errorf("a burst of 4999 at 5,000,000 B/s accepted: %v", err)
	}
	cfg.InputBurstBytes = 5000
	if err := cfg.Check(); err != nil {
		t.Errorf("a burst of 5000 at 5,000,000 B/s refused: %v", err)
	}
}

// Goal: FitInputRate makes any drawn rate one New accepts, raising it
// only as much as needed. Method: the configs the review found broken.
func TestFitInputRate(t *testing.T) {
	for _, cfg := range []Config{
		{FrameBytesMax: 4000, InputRateBytesPerSec: 1000, InputBurstBytes: 100, FrameTimeout: time.Second, IdleTimeout: -1},
		{InputRateBytesPerSec: 20_000, InputBurstBytes: 1000, IdleTimeout: 30 * time.Millisecond, FrameTimeout: -1},
		{InputRateBytesPerSec: 5_000_000, InputBurstBytes: 64, IdleTimeout: -1, FrameTimeout: -1},
		{InputRateBytesPerSec: 2_000_000, IdleTimeout: -1, FrameTimeout: -1}, // fits: untouched
	} {
		was := cfg
		cfg.FitInputRate()
		if err := cfg.Check(); err != nil {
			t.Errorf("%+v fitted to rate %d burst %d: %v", was, cfg.InputRateBytesPerSec, cfg.InputBurstBytes, err)
		}
		if was.Check() == nil && cfg != was {
			t.Errorf("a config that fits was changed: rate %d → %d, burst %d → %d", was.InputRateBytesPerSec, cfg.InputRateBytesPerSec, was.InputBurstBytes, cfg.InputBurstBytes)
		}
		if cfg.InputRateBytesPerSec > was.InputRateBytesPerSec {
			less := cfg
			less.InputRateBytesPerSec--
			if less.Check() == nil {
				t.Errorf("%+v: raised to %d B/s, but %d fits", was, cfg.InputRateBytesPerSec, less.InputRateBytesPerSec)
			}
		}
	}
}

// Goal: whole bytes of the input rate never add up to more than the
// exact rate (the oracle's bucket, in byte-nanoseconds), with a rate that
// does not divide a second. Method: a flooder read at 332,841 B/s for a
// second, the clock moving as the server's poll timeout asks; no more than
// the burst plus a second's worth, and not much less.
func TestInputRateNeverOverEarns(t *testing.T) {
	const rate, burst = 332_841, 1024
	h := newHarness(t, Config{InputRateBytesPerSec: rate, InputBurstBytes: burst, FrameBytesMax: 100, FrameTimeout: -1, IdleTimeout: -1})
	c := h.connect(1)
	h.send(c[0], strings.Repeat("abcdefghi\n", 60_000))
	start := h.p.now
	for h.p.now-start < time.Second {
		d := h.s.pollTimeout() // the resume timer's, as a live poll would sleep
		if d <= 0 {
			d = time.Microsecond
		}
		h.p.now += d
		h.tick()
	}
	took := h.p.now - start
	allowed := uint64(burst + int64(took)*rate/int64(time.Second))
	if got := h.s.Stats().BytesIn; got > allowed || got < allowed*9/10 {
		t.Fatalf("read %d bytes in %v at %d B/s with a %d-byte burst; the exact rate allows %d", got, took, rate, burst, allowed)
	}
}

// Goal: an emptied buffer kept for reuse is not charged to the input
// budget, so a legal largest frame is never refused room it takes, and a
// kept buffer taken up again is charged in full (the budget is never
// exceeded). Method: one client keeps a 64-byte buffer, another sends a
// 995-byte line under a 1001-byte budget; then the first starts a 600-byte
// line in its kept buffer while a third holds 400 bytes.
func TestKeptBuffersAndTheBudget(t *testing.T) {
	h := newHarness(t, Config{FrameBytesMax: 1000, QueueBytesMax: 4096, InputBytesMax: 1001, IdleTimeout: -1, FrameTimeout: -1})
	c := h.connect(2)
	h.send(c[0], "ab")
	h.send(c[0], "c\n") // c0 keeps an empty 64-byte buffer
	h.send(c[1], strings.Repeat("x", 100))
	h.send(c[1], strings.Repeat("x", 800))
	h.send(c[1], strings.Repeat("x", 95))
	if st := h.s.Stats(); st.InputEvictions != 0 {
		t.Fatalf("a lone 995-byte partial line (FrameBytesMax 1000, InputBytesMax 1001) was evicted for a kept empty buffer")
	}

	h = newHarness(t, Config{FrameBytesMax: 1000, QueueBytesMax: 4096, InputBytesMax: 1001, PartialKeepBytesMax: 1024, IdleTimeout: -1, FrameTimeout: -1})
	c = h.connect(2)
	h.send(c[0], strings.Repeat("x", 500))
	h.send(c[0], "\n") // c0 keeps an empty 512-byte buffer
	h.send(c[1], strings.Repeat("y", 400))
	h.send(c[0], strings.Repeat("z", 600))
	if st := h.s.Stats(); st.InputBytes > 1001 || st.InputBytesHi > 1001 || st.InputEvictions != 1 {
		t.Fatalf("held %d (high-water %d) with InputBytesMax 1001, %d evictions; want within the budget, one eviction", st.InputBytes, st.InputBytesHi, st.InputEvictions)
	}
}

// Goal: a stream of new leavers never postpones the check the earlier
// ones wait for. Method: 40 protocol errors 0.5 ms apart; the first,
// acknowledged at once, must be closed long before the last leaves.
func TestAckCheckNotStarvedByLeavers(t *testing.T) {
	h := newHarness(t, Config{FrameBytesMax: 4, QueueBytesMax: 1024, IdleTimeout: -1, FrameTimeout: -1})
	c := h.connect(40)
	for i := range c {
		h.p.now += 500 * time.Microsecond
		h.send(c[i], "much too long\n") // leaves, is written its error frame and FIN
	}
	if !c[0].closed {
		t.Fatalf("c0 acknowledged everything 20 ms ago and is still open: %d ack checks", h.s.Stats().AckChecks)
	}
}

// Goal: in a shutdown the shutdown deadline is every leaver's: a reader
// still taking its output is not cut at LingerTimeout. Method: a 30 s
// shutdown, a reader taking 3 bytes per half second, 6 s.
func TestShutdownOutlastsLinger(t *testing.T) {
	h := newHarness(t, Config{ShutdownTimeout: 30 * time.Second, IdleTimeout: -1, FrameTimeout: -1})
	c := h.connect(2)
	c[1].outCap = 3 // a slow reader
	for range 5 {
		h.send(c[0], "hello world\n")
	}
	h.s.Shutdown()
	for i := 0; i < 12 && !c[1].closed; i++ {
		h.p.now += 500 * time.Millisecond
		c[1].outCap = len(c[1].out) + 3
		h.tick(kernel.Event{Token: h.token(c[1]), Ready: kernel.ReadyWrite})
	}
	if c[1].closed {
		t.Fatalf("a reader still taking its output was closed at %v of a 30 s shutdown, %d of 60 bytes received", h.p.now, len(c[1].out))
	}
}
