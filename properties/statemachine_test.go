package properties

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// The server keeps every promise whatever happens in whatever order. Method:
// rapid draws a world, then a sequence of actions — clients connect, send
// frames split at random points, read, FIN, reset and close; the server
// ticks on a shuffled, salted batch; the network moves bytes; the clock
// jumps; faults switch on and off; the server shuts down — and checks the
// world's model after every action. A final drain (faults off, everything
// read) requires each prefix to be whole. On failure rapid shrinks to a
// short action list; every action logs what it did, so the list reads as a
// story.
func TestStateMachine(t *testing.T) {
	var ty tally
	rapid.Check(t, func(t *rapid.T) {
		wc := worldGen(false).Draw(t, "world")
		w := newWorld(t, wc)
		for range rapid.IntRange(0, 3).Draw(t, "clients at start") {
			w.connect()
		}
		t.Repeat(w.actions())
		w.drain()
		w.final()
		ty.add(w)
	})
	t.Log(&ty)
}

// actions is the state machine: one entry per action, the invariant check
// under "".
func (w *world) actions() map[string]func(*rapid.T) {
	// pickClient draws one of the clients ok accepts, or skips the action.
	pickClient := func(t *rapid.T, why string, ok func(*client) bool) *client {
		var cs []*client
		for _, c := range w.clients {
			if ok(c) {
				cs = append(cs, c)
			}
		}
		if len(cs) == 0 {
			t.Skip("no client can " + why)
		}
		return rapid.SampledFrom(cs).Draw(t, "client")
	}
	return map[string]func(*rapid.T){
		"connect": func(t *rapid.T) {
			if w.active() >= w.wc.Clients || len(w.clients) >= 3*w.wc.Clients || w.shutdown {
				t.Skip("enough clients")
			}
			w.connect()
		},
		"send": func(t *rapid.T) {
			c := pickClient(t, "send", (*client).canWrite)
			var what []string
			for range rapid.IntRange(1, 3).Draw(t, "frames") {
				if oneIn(t, 16, "malformed") {
					frame, desc := w.badFrame(rapid.IntRange(0, 1).Draw(t, "kind"), rapid.IntRange(0, 3).Draw(t, "extra"))
					w.queue(c, frame)
					what = append(what, desc)
					continue
				}
				n := rapid.IntRange(0, w.cfg.FrameBytesMax).Draw(t, "body bytes")
				frame := w.cfg.Framing.Encode(nil, w.body(c, n))
				w.queue(c, frame)
				what = append(what, fmt.Sprintf("%q", frame))
			}
			wrote := w.pump(c, splitAt(t, c.unsent()))
			t.Logf("%s sends %s; writes %d bytes, %d left to write", c.name, strings.Join(what, " "), wrote, c.unsent())
		},
		"write": func(t *rapid.T) {
			c := pickClient(t, "write", func(c *client) bool { return c.canWrite() && c.unsent() > 0 })
			wrote := w.pump(c, rapid.IntRange(1, c.unsent()).Draw(t, "write bytes"))
			t.Logf("%s writes %d more bytes, %d left to write", c.name, wrote, c.unsent())
		},
		"read": func(t *rapid.T) {
			c := pickClient(t, "read", (*client).canRead)
			limit := 1 << 30
			if !rapid.Bool().Draw(t, "all") {
				limit = rapid.IntRange(1, 64).Draw(t, "read bytes")
			}
			n := w.read(c, limit)
			t.Logf("%s reads %d bytes (%d in all)", c.name, n, len(c.recv))
		},
		"hangup": func(t *rapid.T) {
			c := pickClient(t, "hang up", func(c *client) bool { return !c.closed })
			if !rapid.Bool().Draw(t, "now") {
				t.Skip("not now")
			}
			switch rapid.SampledFrom([]string{"fin", "close", "reset"}).Draw(t, "how") {
			case "fin":
				if c.shut {
					t.Skip("FIN already sent")
				}
				w.fin(c)
			case "close":
				if rapid.Bool().Draw(t, "read first") {
					w.read(c, 1<<30)
				}
				w.close(c)
			default:
				w.reset(c)
			}
		},
		"tick": func(t *rapid.T) {
			t.Logf("server ticks")
			w.tick()
		},
		"network": func(t *rapid.T) {
			if rapid.Bool().Draw(t, "all") {
				t.Logf("network: everything that fits moves")
				w.k.Flush()
			} else {
				t.Logf("network: some bytes move")
				w.k.Step()
			}
		},
		"run": func(t *rapid.T) {
			t.Logf("network: some bytes move; server ticks")
			w.k.Step()
			w.tick()
		},
		"advance": func(t *rapid.T) {
			d := rapid.SampledFrom([]time.Duration{time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond, 2 * time.Second}).Draw(t, "by")
			w.k.Advance(d)
			t.Logf("clock: +%v", d)
		},
		"fault": func(t *rapid.T) {
			if !oneIn(t, 4, "now") {
				t.Skip("not now")
			}
			p := faultPlanGen().Draw(t, "faults")
			w.k.SetFaults(p)
			t.Logf("kernel faults now: %s", faultString(p))
		},
		"shutdown": func(t *rapid.T) {
			if w.shutdown || !oneIn(t, 64, "now") {
				t.Skip("not now")
			}
			w.shutdown = true
			w.o.ShutdownBegan()
			t.Logf("server: graceful shutdown begins")
			w.srv.Shutdown()
			w.check()
		},
		"": func(*rapid.T) { w.check() },
	}
}

// splitAt draws how many of n outbox bytes to write now: all of them, or a
// cut somewhere inside.
func splitAt(t *rapid.T, n int) int {
	if n <= 1 || !rapid.Bool().Draw(t, "split") {
		return n
	}
	return rapid.IntRange(0, n-1).Draw(t, "write bytes")
}
