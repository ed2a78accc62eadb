package server

import "time"

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
			c.tokensAt += time.Duration(earned * int64(time.Second) / rate) // keep the remainder
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
