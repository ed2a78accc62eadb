package server

import (
	"bytes"
	"testing"

	"pgregory.net/rapid"
)

// The broadcast ring holds exactly the bytes appended and not yet
// released, at their absolute offsets, through any mix of appends (large
// ones too, that grow it by several doublings at once, and ones that wrap),
// releases and reads. Method: a rapid state machine, as rapid's
// example_statemachine_test.go, against a plain model: a byte slice holding
// [head, end) and the offset of its first byte. After every action the
// ring's used count, its whole content and its buffer's size (a power of
// two, from ringBytesMin, below twice the most it ever held) agree with
// the model; reads of any range agree with the model's slice of it.
func TestRingModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var r ring
		var model []byte                                   // the bytes [head, end)
		var head uint64                                    // the model's first offset
		limit := rapid.IntRange(1, 1<<17).Draw(t, "limit") // as QueueBytesMax: the caller bounds used
		most := 0                                          // the most the ring held
		seed := byte(rapid.IntRange(0, 255).Draw(t, "seed"))

		// content of the byte at absolute offset off: any value, so a
		// misplaced byte shows.
		content := func(off uint64) byte { return byte(off*131>>3) ^ seed }

		t.Repeat(map[string]func(*rapid.T){
			"append": func(t *rapid.T) {
				room := limit - len(model)
				if room == 0 {
					t.Skip("full")
				}
				n := rapid.IntRange(0, room).Draw(t, "bytes")
				split := rapid.IntRange(0, n).Draw(t, "split") // a frame's head and tail
				p := make([]byte, n)
				for i := range p {
					p[i] = content(r.end + uint64(i))
				}
				r.reserve(n)
				r.append(p[:split])
				r.append(p[split:])
				model = append(model, p...)
				most = max(most, len(model))
			},
			"release": func(t *rapid.T) {
				// Any offset: below head (nothing to release), inside,
				// at the end, past the end (clamped to it).
				to := head + uint64(rapid.IntRange(0, len(model)+8).Draw(t, "release")) - uint64(rapid.IntRange(0, 4).Draw(t, "below"))
				r.release(to)
				if to > head {
					k := min(to-head, uint64(len(model)))
					model = model[k:]
					head += k
				}
			},
			"read": func(t *rapid.T) {
				from := head + uint64(rapid.IntRange(0, len(model)).Draw(t, "from"))
				to := from + uint64(rapid.IntRange(0, int(head+uint64(len(model))-from)).Draw(t, "length"))
				a, b := r.slices(from, to)
				if got, want := append(append([]byte(nil), a...), b...), model[from-head:to-head]; !bytes.Equal(got, want) {
					t.Fatalf("slices(%d, %d) give %d bytes that differ from the %d appended there", from, to, len(got), len(want))
				}
			},
			"": func(t *rapid.T) {
				if r.head != head || r.end != head+uint64(len(model)) || r.used() != uint64(len(model)) {
					t.Fatalf("ring holds [%d, %d) (%d used); the model [%d, %d)", r.head, r.end, r.used(), head, head+uint64(len(model)))
				}
				a, b := r.slices(r.head, r.end)
				if !bytes.Equal(append(append([]byte(nil), a...), b...), model) {
					t.Fatalf("the ring's %d bytes differ from what was appended", len(model))
				}
				size := len(r.buf)
				if size == 0 {
					return
				}
				if size&(size-1) != 0 || size < ringBytesMin || (size > ringBytesMin && size >= 2*most) {
					t.Fatalf("buffer of %d bytes after holding at most %d (a power of two from %d, below twice the most held)", size, most, ringBytesMin)
				}
			},
		})
	})
}
