package oracle

import (
	"testing"
	"time"

	"github.com/mobsim/mobsim/server"
)

// The timing rules and the rules that replaced tolerances must be able to
// fail. Method: as TestBrokenHistories, one short history per rule that
// breaks exactly it, then the same history kept within the rule, which
// must pass (so the rule is not merely always on).

type ruleCase struct {
	name, inv, says string
	broken, kept    func(h *history)
}

func runRuleCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := lossHistory()
			tc.broken(h)
			wantViolation(t, h, tc.inv, tc.says)
			h = lossHistory()
			tc.kept(h)
			if v := h.Violation(); v != nil {
				t.Fatalf("kept within the rule, it still fails: %v", v)
			}
		})
	}
}

// pollAfter is a tick whose poll waited d (the clock moves by d) and found
// nothing, then feed.
func (h *history) pollAfter(d time.Duration, feed func()) {
	h.TickBegin()
	h.now += d
	h.Polled(d, 0, false)
	feed()
	h.TickEnd()
}

func TestTimingHistories(t *testing.T) {
	nothing := func() {}
	runRuleCases(t, []ruleCase{
		{"sleeping past an idle deadline", InvTiming, "past client 1's idle timeout", func(h *history) {
			h.member(1)
			h.tick(nothing)
			h.PollWaits(-1)
		}, func(h *history) {
			h.member(1)
			h.tick(nothing)
			h.PollWaits(100 * time.Millisecond)
		}},
		{"sleeping past a linger deadline", InvTiming, "past client 1's linger time", func(h *history) {
			h.member(1)
			h.now += 100 * time.Millisecond
			h.tick(func() { h.Left(1, server.ReasonIdle) })
			h.PollWaits(51 * time.Millisecond)
		}, func(h *history) {
			h.member(1)
			h.now += 100 * time.Millisecond
			h.tick(func() { h.Left(1, server.ReasonIdle) })
			h.PollWaits(50 * time.Millisecond)
		}},
		{"an idle close long after its deadline", InvTiming, "its idle close is late", func(h *history) {
			h.member(1)
			h.pollAfter(100*time.Millisecond, nothing)
		}, func(h *history) {
			h.member(1)
			h.pollAfter(100*time.Millisecond, func() { h.Left(1, server.ReasonIdle) })
		}},
		{"an idle close long after the last complete frame, bytes since", InvTiming, "its idle close is late", func(h *history) {
			h.member(1)
			h.tick(func() {
				h.ClientSent(1, []byte("dribble"))
				h.Read(1, []byte("dribble")) // bytes, but no complete frame
			})
			h.pollAfter(100*time.Millisecond, nothing)
		}, func(h *history) {
			h.member(1)
			h.tick(func() {
				h.ClientSent(1, []byte("dribble"))
				h.Read(1, []byte("dribble"))
			})
			h.pollAfter(100*time.Millisecond, func() { h.Left(1, server.ReasonIdle) })
		}},
		{"a frame-timeout leave long after the frame began", InvTiming, "its frame-timeout leave is late", func(h *history) {
			h.Oracle.cfg.IdleTimeout = -1
			h.member(1)
			h.tick(func() {
				h.ClientSent(1, []byte("ab\ncd"))
				h.Read(1, []byte("ab\ncd"))
				h.Frame(1, []byte("ab\n"), nil)
			})
			h.pollAfter(300*time.Millisecond, nothing)
		}, func(h *history) {
			h.Oracle.cfg.IdleTimeout = -1
			h.member(1)
			h.tick(func() {
				h.ClientSent(1, []byte("ab\ncd"))
				h.Read(1, []byte("ab\ncd"))
				h.Frame(1, []byte("ab\n"), nil)
			})
			h.pollAfter(300*time.Millisecond, func() { h.Left(1, server.ReasonFrameTimeout) })
		}},
		{"a linger close long after its deadline", InvTiming, "its close is late", func(h *history) {
			h.member(1)
			h.now += 100 * time.Millisecond
			h.tick(func() { h.Left(1, server.ReasonIdle) })
			h.pollAfter(50*time.Millisecond, nothing)
		}, func(h *history) {
			h.member(1)
			h.now += 100 * time.Millisecond
			h.tick(func() { h.Left(1, server.ReasonIdle) })
			h.pollAfter(50*time.Millisecond, func() { h.Closed(1, server.ReasonLingerTimeout) })
		}},
		{"a shutdown leaver cut at its linger time", InvMembership, "into the shutdown", func(h *history) {
			h.member(1)
			h.ShutdownBegan()
			h.Left(1, server.ReasonShutdown)
			h.pollAfter(50*time.Millisecond, func() { h.Closed(1, server.ReasonLingerTimeout) })
		}, func(h *history) {
			h.member(1)
			h.ShutdownBegan()
			h.Left(1, server.ReasonShutdown)
			h.pollAfter(50*time.Millisecond, nothing) // past LingerTimeout: the shutdown's deadline holds
			h.pollAfter(150*time.Millisecond, func() { h.Closed(1, server.ReasonShutdownTimeout) })
		}},
		{"open past the shutdown deadline", InvTiming, "into the shutdown", func(h *history) {
			h.ShutdownBegan()
			h.pollAfter(time.Millisecond, func() { h.member(1) }) // a join that slipped in
			h.pollAfter(200*time.Millisecond, nothing)
		}, func(h *history) {
			h.ShutdownBegan()
			h.pollAfter(time.Millisecond, func() { h.member(1) })
			h.pollAfter(200*time.Millisecond, func() { h.Reset(1); h.Closed(1, server.ReasonReset) })
		}},
		{"an accept during the back-off", InvTiming, "paused it for 10ms", func(h *history) {
			h.tick(func() { h.AcceptCall(AcceptExhausted) })
			h.pollAfter(9*time.Millisecond, func() { h.AcceptCall(AcceptEmpty) })
		}, func(h *history) {
			h.tick(func() { h.AcceptCall(AcceptExhausted) })
			h.pollAfter(10*time.Millisecond, func() { h.AcceptCall(AcceptEmpty) })
		}},
		{"a back-off that does not double", InvTiming, "paused it for 20ms", func(h *history) {
			h.tick(func() { h.AcceptCall(AcceptExhausted) })
			h.pollAfter(10*time.Millisecond, func() { h.AcceptCall(AcceptExhausted) })
			h.pollAfter(10*time.Millisecond, func() { h.AcceptCall(AcceptEmpty) })
		}, func(h *history) {
			h.tick(func() { h.AcceptCall(AcceptExhausted) })
			h.pollAfter(10*time.Millisecond, func() { h.AcceptCall(AcceptExhausted) })
			h.pollAfter(20*time.Millisecond, func() { h.AcceptCall(AcceptEmpty) })
		}},
		{"a back-off that does not restart at the minimum", InvTiming, "has not accepted since", func(h *history) {
			h.tick(func() { h.AcceptCall(AcceptExhausted) })
			h.pollAfter(10*time.Millisecond, func() {
				h.AcceptCall(AcceptOK)
				h.Accepted(1)
				h.Closed(1, server.ReasonRegisterError)
				h.AcceptCall(AcceptExhausted)
			})
			h.pollAfter(10*time.Millisecond, nothing) // a server that doubled to 20ms is not back
		}, func(h *history) {
			h.tick(func() { h.AcceptCall(AcceptExhausted) })
			h.pollAfter(10*time.Millisecond, func() {
				h.AcceptCall(AcceptOK)
				h.Accepted(1)
				h.Closed(1, server.ReasonRegisterError)
				h.AcceptCall(AcceptExhausted)
			})
			h.pollAfter(10*time.Millisecond, func() { h.AcceptCall(AcceptEmpty) })
		}},
		{"a back-off past its maximum", InvTiming, "has not accepted since", func(h *history) {
			for range 3 { // 10, 20, 40 ms
				h.tick(func() { h.AcceptCall(AcceptExhausted) })
				h.pollAfter(40*time.Millisecond, nothing)
			}
			h.tick(func() { h.AcceptCall(AcceptExhausted) })
			h.pollAfter(40*time.Millisecond, nothing) // a server that doubled to 80ms is not back
		}, func(h *history) {
			for _, d := range []time.Duration{10, 20, 40, 40} {
				h.tick(func() { h.AcceptCall(AcceptExhausted) })
				h.pollAfter(d*time.Millisecond, func() { h.AcceptCall(AcceptEmpty) })
			}
		}},
		{"a timer that fires after a wait the world cut short", InvTiming, "would have slept past a deadline", func(h *history) {
			h.member(1)
			h.now += 100 * time.Millisecond
			h.TickBegin()
			h.Polled(-1, 0, true)
			h.Left(1, server.ReasonIdle)
			h.TickEnd()
		}, func(h *history) {
			h.member(1)
			h.now += 50 * time.Millisecond
			h.TickBegin()
			h.Polled(-1, 0, true)
			h.TickEnd()
		}},
	})
}

// The rules that replaced tolerances (issue 13: the fake kernel no longer
// loses bytes Linux delivers; issue 14: the close-reason hole, the late
// drain): each history here was allowed before and is a violation now.
func TestTightened(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{"a graceful close that resets with input it could have read", InvDelivery, "could have read left unread", func(h *history) {
			h.member(1)
			h.ClientSent(1, []byte("0123456789abcdef\n0123456789abcdef\n"))
			h.Arrived(1, 34)
			h.tick(func() {
				h.ReadCall(1)
				h.Read(1, []byte("0123456789abcdef\n0123456789abcdef\n")[:32]) // the budget (32) is spent
				h.Frame(1, []byte("0123456789abcdef\n"), nil)
				h.Wrote(1, []byte("0123456789abcdef\n"))
				h.ShutdownBegan()
				h.Left(1, server.ReasonShutdown)
				h.Closed(1, server.ReasonShutdown)
				h.Reset(1)
			})
		}, func(h *history) {
			h.member(1)
			h.ClientSent(1, []byte("0123456789abcdef\n"))
			h.Arrived(1, 17)
			h.tick(func() {
				h.ReadCall(1)
				h.Read(1, []byte("0123456789abcdef\n"))
				h.Frame(1, []byte("0123456789abcdef\n"), nil)
				h.Wrote(1, []byte("0123456789abcdef\n"))
				h.ShutdownBegan()
				h.Left(1, server.ReasonShutdown)
				h.Closed(1, server.ReasonShutdown)
			})
		}},
		{"a graceful close that does not read right before it", InvDelivery, "could have read left unread", func(h *history) {
			h.member(1)
			h.member(2)
			h.ShutdownBegan()
			h.tick(func() {
				h.Left(1, server.ReasonShutdown)
				h.ShutWrite(1)
				h.ReadCall(1) // would-block
				h.WriteCall(2, false)
				h.Arrived(1, 5) // after a call that was not its read
				h.Closed(1, server.ReasonShutdown)
				h.Reset(1)
			})
		}, func(h *history) {
			h.member(1)
			h.member(2)
			h.ShutdownBegan()
			h.tick(func() {
				h.Left(1, server.ReasonShutdown)
				h.ShutWrite(1)
				h.WriteCall(2, false)
				h.ReadCall(1) // would-block
				h.Arrived(1, 5)
				h.Closed(1, server.ReasonShutdown)
				h.Reset(1)
			})
		}},
		{"a reject line the kernel could have taken whole", InvDelivery, "though the kernel took all it was given", func(h *history) {
			for id := ConnID(1); id <= 3; id++ {
				h.member(id)
			}
			h.Accepted(4)
			h.Wrote(4, []byte("error: server"))
			h.WriteCall(4, false)
			h.Closed(4, server.ReasonConnsLimit)
		}, func(h *history) {
			for id := ConnID(1); id <= 3; id++ {
				h.member(id)
			}
			h.Accepted(4)
			h.Wrote(4, []byte("error: server full (3 connections)\n"))
			h.WriteCall(4, false)
			h.Closed(4, server.ReasonConnsLimit)
		}},
		{"a rejected client that reads less than the line", InvKernel, "the kernel lost 0", func(h *history) {
			for id := ConnID(1); id <= 3; id++ {
				h.member(id)
			}
			h.ClientConnected(4, "client 4")
			h.Accepted(4)
			h.Wrote(4, []byte("error: server full (3 connections)\n"))
			h.Closed(4, server.ReasonConnsLimit)
			h.ClientReceived(4, []byte("error: "))
			h.ClientEnded(4, EndReset)
		}, func(h *history) {
			for id := ConnID(1); id <= 3; id++ {
				h.member(id)
			}
			h.ClientConnected(4, "client 4")
			h.Accepted(4)
			h.Wrote(4, []byte("error: server full (3 connections)\n"))
			h.Closed(4, server.ReasonConnsLimit)
			h.Lost(4, 28) // what an RST purged (a one-byte window)
			h.ClientReceived(4, []byte("error: "))
			h.ClientEnded(4, EndReset)
		}},
		{"a reset member whose frames reached the server unread", InvDelivery, "reached the server unread", func(h *history) {
			h.member(1)
			h.ClientSent(1, []byte("hi\n"))
			h.Arrived(1, 3)
			h.ClientGone(1, true)
			h.tick(func() {
				h.Reset(1)
				h.Closed(1, server.ReasonWriteError)
			})
		}, func(h *history) {
			h.member(1)
			h.ClientSent(1, []byte("hi\n"))
			h.Arrived(1, 3)
			h.ClientGone(1, true)
			h.tick(func() {
				h.Reset(1)
				h.ReadCall(1)
				h.Read(1, []byte("hi\n"))
				h.Frame(1, []byte("hi\n"), nil)
				h.Closed(1, server.ReasonWriteError)
			})
		}},
		{"queue-limit for a leaver written all it was owed", InvMemory, "written all it was owed", func(h *history) {
			h.member(1)
			h.member(2)
			h.ShutdownBegan()
			h.Left(1, server.ReasonShutdown)
			for range 17 {
				h.say(2, "abc\n")
				h.Wrote(2, []byte("abc\n"))
			}
			h.Closed(1, server.ReasonQueueLimit)
		}, func(h *history) {
			h.member(1)
			h.member(2)
			h.ShutdownBegan()
			h.say(2, "abc\n")
			h.Left(1, server.ReasonShutdown)
			for range 16 {
				h.say(2, "abc\n")
			}
			h.Closed(1, server.ReasonQueueLimit) // owed its 4 bytes, 68 behind
		}},
		{"a client gone whose connection is still a member", InvLiveness, "still a member", func(h *history) {
			h.member(1)
			h.ClientGone(1, false)
			if why := h.Stuck(Settled{}); why != "" {
				h.Fail(InvLiveness, "%s", why)
			}
		}, func(h *history) {
			h.member(1)
			h.ClientGone(1, false)
			h.ReadEOF(1)
			h.Left(1, server.ReasonEOF)
			h.ShutWrite(1)
			h.Closed(1, server.ReasonEOF)
			if why := h.Stuck(Settled{}); why != "" {
				h.Fail(InvLiveness, "%s", why)
			}
		}},
	})
}
