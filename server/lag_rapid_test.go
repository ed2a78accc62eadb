package server

import (
	"testing"

	"pgregory.net/rapid"
)

// The lag heap always has the connection furthest behind at its top, and
// each connection knows where it sits, through any mix of pushes, removals
// (the top, the last, any other) and cursors that move. Method: a rapid
// state machine, as rapid's example_statemachine_test.go, against a plain
// model: the slice of connections in the heap. A cursor moves as the
// server moves it, forward, then down restores order; or anywhere, then
// fix does. After every action the top's cursor is the model's smallest,
// the heap property holds at every node, every member's heapIdx is its
// place, and every removed connection's heapIdx is -1.
func TestLagHeapModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var h lagHeap
		var in, out []*conn // model: in the heap, and removed from it
		cursor := rapid.Uint64Range(0, 1<<20)
		pick := func(t *rapid.T) int { return rapid.IntRange(0, len(in)-1).Draw(t, "which") }

		t.Repeat(map[string]func(*rapid.T){
			"push": func(t *rapid.T) {
				var c *conn
				if len(out) > 0 && rapid.Bool().Draw(t, "reuse") {
					i := rapid.IntRange(0, len(out)-1).Draw(t, "removed")
					c = out[i]
					out = append(out[:i], out[i+1:]...)
				} else {
					c = &conn{heapIdx: -1}
				}
				c.cursor = cursor.Draw(t, "cursor")
				h.push(c)
				in = append(in, c)
			},
			"remove": func(t *rapid.T) {
				if len(in) == 0 {
					t.Skip("empty")
				}
				var i int
				switch rapid.IntRange(0, 2).Draw(t, "where") {
				case 0:
					i = indexOf(in, h[0]) // the top
				case 1:
					i = indexOf(in, h[len(h)-1]) // the last
				default:
					i = pick(t)
				}
				c := in[i]
				h.remove(c)
				in = append(in[:i], in[i+1:]...)
				out = append(out, c)
			},
			"advance": func(t *rapid.T) {
				if len(in) == 0 {
					t.Skip("empty")
				}
				c := in[pick(t)]
				c.cursor += rapid.Uint64Range(0, 1<<12).Draw(t, "by")
				h.down(c.heapIdx) // a cursor only grows: it can only sink
			},
			"move": func(t *rapid.T) {
				if len(in) == 0 {
					t.Skip("empty")
				}
				c := in[pick(t)]
				c.cursor = cursor.Draw(t, "to")
				h.fix(c.heapIdx)
			},
			"": func(t *rapid.T) {
				if len(h) != len(in) {
					t.Fatalf("heap holds %d, the model %d", len(h), len(in))
				}
				for i, c := range h {
					if c.heapIdx != i {
						t.Fatalf("the connection at %d says it is at %d", i, c.heapIdx)
					}
					if i > 0 && h.less(i, (i-1)/2) {
						t.Fatalf("cursor %d at %d is below its parent's %d", c.cursor, i, h[(i-1)/2].cursor)
					}
				}
				for _, c := range out {
					if c.heapIdx != -1 {
						t.Fatalf("a removed connection says it is at %d", c.heapIdx)
					}
				}
				if len(in) == 0 {
					return
				}
				low := in[0].cursor
				for _, c := range in {
					low = min(low, c.cursor)
					if c.heapIdx < 0 || c.heapIdx >= len(h) || h[c.heapIdx] != c {
						t.Fatalf("a connection in the model is not where it says in the heap (%d)", c.heapIdx)
					}
				}
				if h[0].cursor != low {
					t.Fatalf("top cursor %d, but the furthest behind is at %d", h[0].cursor, low)
				}
			},
		})
	})
}

func indexOf(cs []*conn, c *conn) int {
	for i, x := range cs {
		if x == c {
			return i
		}
	}
	return -1
}
