package main

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/mobsim/mobsim/internal/wire"
	"github.com/mobsim/mobsim/server"
)

// This file holds the client side of the real-socket tests: frame
// generation, writes cut at random points, frame reading and the checks of
// what each client received. Clients are ordinary blocking net.Conns with
// deadlines; only the server runs on netpoll.

var seedFlag = flag.Uint64("mob.seed", 0, "seed for frame contents and write splits (0: from the clock)")

// testSeed returns the seed for this test and logs it, so the frames and
// write splits of a failure can be regenerated (the interleaving on real
// sockets cannot).
func testSeed(t *testing.T) uint64 {
	t.Helper()
	s := *seedFlag
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -mob.seed=%d)", s, s)
	return s
}

// makeFrames returns n frame bodies for client id: a tag naming the client
// and sequence number, so every frame is unique and attributable, then up
// to extraMax random bytes. Line framing bodies hold no newline; mob
// bodies hold any byte, NUL and newline included.
func makeFrames(rng *rand.Rand, f server.Framing, id, n, extraMax int) [][]byte {
	frames := make([][]byte, n)
	for i := range frames {
		b := fmt.Appendf(nil, "c%02d-%05d:", id, i)
		for range rng.IntN(extraMax + 1) {
			c := byte(rng.Uint32())
			if f == server.FramingLine && c == '\n' {
				c = ' '
			}
			b = append(b, c)
		}
		frames[i] = b
	}
	return frames
}

// encodeAll is the byte stream of frames, as a client sends it.
func encodeAll(f server.Framing, frames [][]byte) []byte {
	var out []byte
	for _, b := range frames {
		out = f.Encode(out, b)
	}
	return out
}

// writeSplit writes data in pieces cut at random points, so frames arrive
// split (down to single bytes) and coalesced (several per write), with
// random pauses between pieces.
func writeSplit(c net.Conn, rng *rand.Rand, data []byte) error {
	for len(data) > 0 {
		var n int
		switch r := rng.IntN(10); {
		case r < 3:
			n = 1 + rng.IntN(16)
		case r < 8:
			n = 1 + rng.IntN(2048)
		default:
			n = 1 + rng.IntN(8192)
		}
		n = min(n, len(data))
		if _, err := c.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
		switch rng.IntN(4) {
		case 0:
			runtime.Gosched()
		case 1:
			time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
		}
	}
	return nil
}

// frameReader reads frames off a connection (see package wire).
type frameReader struct{ *wire.Reader }

func newFrameReader(c net.Conn, f server.Framing, bodyMax int) *frameReader {
	return &frameReader{wire.NewReader(c, f, bodyMax)}
}

func (r *frameReader) next() ([]byte, error) { return r.Next() }

// errPartial says the stream ended inside a frame.
var errPartial = wire.ErrPartial

// received is what one client read: frames, then how the stream ended.
type received struct {
	frames  [][]byte
	partial []byte // encoded prefix of a frame cut off by the close
	err     error  // nil: stopped after the frames wanted; io.EOF: clean end
}

// readFrames reads until want frames have arrived (want < 0: until the
// stream ends). onFrame, if not nil, sees each frame as it arrives.
func (r *frameReader) readFrames(want int, onFrame func([]byte)) received {
	var got received
	for want < 0 || len(got.frames) < want {
		b, err := r.next()
		if err != nil {
			if errors.Is(err, errPartial) {
				got.partial = b
			}
			got.err = err
			return got
		}
		got.frames = append(got.frames, b)
		if onFrame != nil {
			onFrame(b)
		}
	}
	return got
}

// origin says who sent a frame and its place in that client's sequence.
type origin struct{ client, seq int }

// index maps every frame body sent to its origin.
func index(sent [][][]byte) map[string]origin {
	idx := make(map[string]origin)
	for c, frames := range sent {
		for i, b := range frames {
			idx[string(b)] = origin{c, i}
		}
	}
	return idx
}

// checkOrder checks that seq is an interleaving of the clients' frames that
// keeps each client's send order with no gap or duplicate. With complete
// set, it must hold every frame sent; otherwise each client's frames in it
// must be a prefix of what that client sent. It returns how many of each
// client's frames seq holds.
func checkOrder(t *testing.T, name string, seq [][]byte, sent [][][]byte, complete bool) []int {
	t.Helper()
	idx := index(sent)
	count := make([]int, len(sent))
	for i, b := range seq {
		o, ok := idx[string(b)]
		if !ok {
			t.Errorf("%s: frame %d (%d bytes, %q...) was never sent", name, i, len(b), clip(b))
			return count
		}
		if o.seq != count[o.client] {
			t.Errorf("%s: frame %d is client %d's #%d, expected its #%d (reordered, duplicated or lost)",
				name, i, o.client, o.seq, count[o.client])
			return count
		}
		count[o.client]++
	}
	if complete {
		for c, frames := range sent {
			if count[c] != len(frames) {
				t.Errorf("%s: holds %d of client %d's %d frames", name, count[c], c, len(frames))
			}
		}
	}
	return count
}

// checkSame checks that every sequence equals ref.
func checkSame(t *testing.T, ref [][]byte, seqs map[string][][]byte) {
	t.Helper()
	for name, seq := range seqs {
		if i := firstDiff(ref, seq); i >= 0 {
			t.Errorf("%s differs from the reference at frame %d (lengths %d and %d)", name, i, len(seq), len(ref))
		}
	}
}

// checkPrefix checks that seq is a prefix of ref.
func checkPrefix(t *testing.T, name string, seq, ref [][]byte) {
	t.Helper()
	if len(seq) > len(ref) || firstDiff(seq, ref[:len(seq)]) >= 0 {
		t.Errorf("%s (%d frames) is not a prefix of the reference (%d frames); first difference at %d",
			name, len(seq), len(ref), firstDiff(seq, ref[:min(len(seq), len(ref))]))
	}
}

// firstDiff is the first index where a and b differ, or -1 if they are equal.
func firstDiff(a, b [][]byte) int {
	for i := range min(len(a), len(b)) {
		if string(a[i]) != string(b[i]) {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

func clip(b []byte) []byte { return b[:min(len(b), 12)] }

// Counters gathered for the report: what each real-socket test made the
// server do.
func logStats(t *testing.T, st server.Stats) {
	t.Helper()
	perFrame := 0.0
	if st.FramesOut > 0 {
		perFrame = float64(st.WriteCalls) / float64(st.FramesOut)
	}
	closed := ""
	for _, r := range server.Reasons() {
		if n := st.Closed[r]; n > 0 {
			closed += fmt.Sprintf(" %s=%d", r, n)
		}
	}
	t.Logf("stats: accepted=%d frames_in=%d frames_out=%d bytes_in=%d bytes_out=%d read_calls=%d write_calls=%d "+
		"(%.3f per delivered frame) events=%d stale_events=%d ticks=%d queued_bytes_hi=%d closed:%s",
		st.Accepted, st.FramesIn, st.FramesOut, st.BytesIn, st.BytesOut, st.ReadCalls, st.WriteCalls,
		perFrame, st.Events, st.StaleEvents, st.Ticks, st.QueuedBytesHi, closed)
}
