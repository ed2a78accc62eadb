package server

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// A timer list holds its connections in the order they were pushed, their
// times never decreasing, linked both ways, through any mix of pushes,
// unlinks (the head, the tail, the middle, one not in the list), refreshes
// (unlink and push again, as a read restarts an idle timer) and expiries
// from the head (as runTimers takes what is due). Method: a rapid state
// machine, as rapid's example_statemachine_test.go, against a plain model:
// the slice of connections in list order. After every action a walk from
// the head and one from the tail give the model's order, every link is
// mutual, times do not decrease, and no connection outside the list is
// linked to anything.
func TestTimerListModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var l timerList
		var in, out []*conn // model: in list order, and not in the list
		var now time.Duration
		tick := func(t *rapid.T) {
			now += time.Duration(rapid.IntRange(0, 3).Draw(t, "later")) * time.Millisecond
		}
		pick := func(t *rapid.T) int {
			switch rapid.IntRange(0, 2).Draw(t, "where") {
			case 0:
				return 0
			case 1:
				return len(in) - 1
			}
			return rapid.IntRange(0, len(in)-1).Draw(t, "which")
		}

		t.Repeat(map[string]func(*rapid.T){
			"push": func(t *rapid.T) {
				var c *conn
				if len(out) > 0 && rapid.Bool().Draw(t, "reuse") {
					i := rapid.IntRange(0, len(out)-1).Draw(t, "outside")
					c = out[i]
					out = append(out[:i], out[i+1:]...)
				} else {
					c = &conn{}
				}
				tick(t)
				l.pushBack(c, now)
				in = append(in, c)
			},
			"unlink": func(t *rapid.T) {
				if len(in) == 0 {
					t.Skip("empty")
				}
				i := pick(t)
				c := in[i]
				l.unlink(c)
				in = append(in[:i], in[i+1:]...)
				out = append(out, c)
			},
			"unlinkOutside": func(t *rapid.T) {
				if len(out) == 0 {
					t.Skip("nothing outside")
				}
				l.unlink(out[rapid.IntRange(0, len(out)-1).Draw(t, "outside")]) // must change nothing
			},
			"refresh": func(t *rapid.T) {
				if len(in) == 0 {
					t.Skip("empty")
				}
				i := pick(t)
				c := in[i]
				l.unlink(c)
				tick(t)
				l.pushBack(c, now)
				in = append(append(in[:i], in[i+1:]...), c)
			},
			"expire": func(t *rapid.T) {
				tick(t)
				timeout := time.Duration(rapid.IntRange(0, 10).Draw(t, "timeout")) * time.Millisecond
				for c := l.head; c != nil && now-l.link(c).since >= timeout; c = l.head {
					if c != in[0] {
						t.Fatalf("the head is not the oldest")
					}
					l.unlink(c)
					in = in[1:]
					out = append(out, c)
				}
				if len(in) > 0 && now-l.link(in[0]).since >= timeout {
					t.Fatalf("expiry stopped with a due connection at the head")
				}
			},
			"": func(t *rapid.T) {
				i := 0
				var prev *conn
				for c := l.head; c != nil; c = l.link(c).next {
					if i >= len(in) || c != in[i] {
						t.Fatalf("walking from the head, place %d holds a connection the model has elsewhere", i)
					}
					if l.link(c).prev != prev {
						t.Fatalf("place %d's prev link is not the connection before it", i)
					}
					if prev != nil && l.link(c).since < l.link(prev).since {
						t.Fatalf("place %d's time %v is before the previous %v", i, l.link(c).since, l.link(prev).since)
					}
					prev, i = c, i+1
				}
				if i != len(in) || l.tail != prev {
					t.Fatalf("the list holds %d (tail ok %v), the model %d", i, l.tail == prev, len(in))
				}
				for j, c := 0, l.tail; c != nil; j, c = j+1, l.link(c).prev {
					if c != in[len(in)-1-j] {
						t.Fatalf("walking from the tail, place %d differs from the model", len(in)-1-j)
					}
				}
				for _, c := range out {
					if l.link(c).prev != nil || l.link(c).next != nil || l.head == c || l.tail == c {
						t.Fatalf("a connection outside the list is still linked")
					}
				}
			},
		})
	})
}
