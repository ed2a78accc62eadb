package server

import (
	"math"
	"time"
)

// The input rate: flood control without loss. Each connection earns
// InputRateBytesPerSec bytes of reading per second, up to InputBurstBytes
// banked (a token bucket). A connection that has spent them is not read
// until it has earned rateResumeBytes again: its data waits in its socket,
// the kernel's flow control slows its sender, and nothing is dropped. No
// edge will come for the data left waiting (the reads stopped short of
// would-block), so a timer resumes it: remembered work. A flooder thus
// slows down to the rate, instead of pushing everyone slower than itself
// past QueueBytesMax.

// rateResumeBytes is what a stopped connection must have earned before it
// is read again (or the whole burst, if smaller): enough for a useful read,
// few enough timer wake-ups (at 1 MiB/s, one per 4 ms).
const rateResumeBytes = 4 << 10

// earn credits c with what it earned since it last did, up to the burst,
// and reports whether it may be read now. A connection starts with a full
// burst (admit).
func (s *Server) earn(c *conn) bool {
	rate, burst := int64(s.cfg.InputRateBytesPerSec), int64(s.cfg.InputBurstBytes)
	if elapsed := s.now - c.tokensAt; elapsed > 0 {
		if full := time.Duration((burst-c.tokens)*int64(time.Second)/rate) + 1; elapsed >= full {
			c.tokens, c.tokensAt = burst, s.now
		} else if earned := int64(elapsed) * rate / int64(time.Second); earned > 0 {
			c.tokens += earned
			// Keep the remainder: move the clock by the time those bytes
			// took, rounded up, so that whole bytes never earn more than
			// the exact rate (rounded down, the error adds up earn by earn).
			c.tokensAt += time.Duration((earned*int64(time.Second) + rate - 1) / rate)
		}
	}
	return c.tokens > 0
}

// throttle stops reading c until it has earned rateResumeBytes: the rate
// list's timer resumes it (resumeThrottled).
func (s *Server) throttle(c *conn) {
	if c.throttled || c.state == stateClosed {
		return
	}
	c.throttled = true
	s.throttledNow++
	s.stats.Throttles++
	s.rate.pushBack(c, s.now)
}

// unthrottle takes c off the rate list.
func (s *Server) unthrottle(c *conn) {
	if c.throttled {
		c.throttled = false
		s.throttledNow--
		s.rate.unlink(c)
	}
}

// rateResume is how long a stopped connection waits (Config.RateResume).
func (s *Server) rateResume() time.Duration { return s.cfg.RateResume() }

// RateResume is how long a connection that InputRateBytesPerSec stopped
// waits, its data in its socket, before it is read again: the time it takes
// to earn 4 KiB (or InputBurstBytes, if smaller), at least a millisecond.
// Zero when the rate is off.
func (c Config) RateResume() time.Duration {
	if c.InputRateBytesPerSec <= 0 {
		return 0
	}
	need := int64(min(rateResumeBytes, c.InputBurstBytes))
	return max(time.Duration(need*int64(time.Second)/int64(c.InputRateBytesPerSec)), time.Millisecond)
}

// InputRateFloor is the slowest InputRateBytesPerSec c allows: one that
// reads a largest frame, with the rate's pause, within IdleTimeout and
// within FrameTimeout, whichever are on. Slower, the server's own pause
// would time out a client whose frames wait in its socket: idle counts
// complete frames, and a frame's time counts from its first byte. 0 when
// neither timeout is on; a timeout of 1 ms or less leaves no rate at all
// (math.MaxInt). Zero fields count as their defaults.
func (c Config) InputRateFloor() int {
	c = c.filled()
	frame := int64(c.FrameBytesMax + c.Framing.headerBytes())
	pause := int64(min(rateResumeBytes, max(c.InputBurstBytes, 1)))
	floor := int64(0)
	for _, t := range []time.Duration{c.IdleTimeout, c.FrameTimeout} {
		switch {
		case t <= 0:
			continue
		case t <= time.Millisecond:
			return math.MaxInt
		}
		// frame/rate + max(pause/rate, 1ms) < t, solved for rate.
		floor = max(floor, (frame+pause)*int64(time.Second)/int64(t)+1, frame*int64(time.Second)/int64(t-time.Millisecond)+1)
	}
	return int(min(floor, math.MaxInt))
}

// FitInputRate raises InputBurstBytes, then InputRateBytesPerSec, to the
// least that New accepts with c's other limits (zero fields count as their
// defaults, and stay zero unless raised), if the rate is on: for a
// generator of configurations (the simulator's swarm, the properties) that
// draws the limits one by one.
func (c *Config) FitInputRate() {
	was := c.filled()
	f := was
	if f.InputRateBytesPerSec <= 0 {
		return
	}
	// Each raise can ask for the other (a larger burst makes a longer
	// pause); they meet at a fixed point within a few rounds.
	for range 100 {
		burst := max(f.InputBurstBytes, (f.InputRateBytesPerSec+999)/1000)
		f.InputBurstBytes = burst
		rate := max(f.InputRateBytesPerSec, f.InputRateFloor())
		if rate == f.InputRateBytesPerSec && burst >= (rate+999)/1000 {
			break
		}
		f.InputRateBytesPerSec = rate
	}
	if f.InputBurstBytes != was.InputBurstBytes {
		c.InputBurstBytes = f.InputBurstBytes
	}
	if f.InputRateBytesPerSec != was.InputRateBytesPerSec {
		c.InputRateBytesPerSec = f.InputRateBytesPerSec
	}
}

// resumeThrottled reads again the connections that have waited out their
// pause: their data was left waiting, and no edge will announce it.
func (s *Server) resumeThrottled() {
	if s.rate.head == nil {
		return
	}
	wait := s.rateResume()
	for c := s.rate.head; c != nil && s.now-s.rate.since(c) >= wait; c = s.rate.head {
		s.unthrottle(c)
		s.readReady(c)
	}
}
