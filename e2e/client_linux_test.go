package e2e

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/mobsim/mobsim/internal/wire"
	"github.com/mobsim/mobsim/server"
)

// This file is the client side: dialing with socket options, frame
// generation and reading, the checks of what clients received, and the
// bystanders' chat. Clients are ordinary blocking net.Conns with
// deadlines.

var seedFlag = flag.Uint64("e2e.seed", 0, "seed for frame contents and write splits (0: from the clock)")

// testSeed returns the seed for this test and logs it, so the frames and
// write splits of a failure can be regenerated (the interleaving on real
// sockets cannot).
func testSeed(t *testing.T) uint64 {
	t.Helper()
	s := *seedFlag
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -e2e.seed=%d)", s, s)
	return s
}

// framings runs a test once per framing.
func framings(t *testing.T, test func(t *testing.T, f server.Framing)) {
	for _, f := range []server.Framing{server.FramingLine, server.FramingMob} {
		t.Run(f.String(), func(t *testing.T) { test(t, f) })
	}
}

// sockOpts are socket options set before the connect, so that buffer sizes
// shape the TCP window from the handshake on. Zero leaves the default.
type sockOpts struct {
	rcvBuf, sndBuf int
}

// dial connects to addr with the test deadline on every read and write.
// Cleanup closes the connection.
func dial(t *testing.T, addr string, o sockOpts) *net.TCPConn {
	t.Helper()
	c, err := dialErr(addr, o)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// dialErr is dial for goroutines, which must not call t.Fatal. The caller
// closes the connection.
func dialErr(addr string, o sockOpts) (*net.TCPConn, error) {
	return wire.Dial(addr, wire.DialOptions{
		RcvBufBytes: o.rcvBuf, SndBufBytes: o.sndBuf,
		Timeout: testTimeout, Deadline: time.Now().Add(testTimeout),
	})
}

// dialMembers connects n clients and waits until the server counts members
// of them (plus any members already there).
func dialMembers(t *testing.T, p *mobProc, n, members int) []*net.TCPConn {
	t.Helper()
	conns := make([]*net.TCPConn, n)
	for i := range conns {
		conns[i] = dial(t, p.addr, sockOpts{})
	}
	p.waitMembers(members)
	return conns
}

// makeFrames returns n frame bodies for client id: a tag naming the client
// and sequence number, so every frame is unique and attributable, then up
// to extraMax random bytes. Line bodies hold no newline (NUL and every
// other byte may appear); mob bodies hold any byte.
func makeFrames(rng *rand.Rand, f server.Framing, id, n, extraMax int) [][]byte {
	frames := make([][]byte, n)
	for i := range frames {
		b := fmt.Appendf(nil, "c%02d-%05d:", id, i)
		tag := len(b)
		b = append(b, make([]byte, rng.IntN(extraMax+1))...)
		for j := tag; j < len(b); j += 8 {
			var w [8]byte
			binary.LittleEndian.PutUint64(w[:], rng.Uint64())
			copy(b[j:], w[:])
		}
		if f == server.FramingLine {
			for j := tag; j < len(b); j++ {
				if b[j] == '\n' {
					b[j] = 0
				}
			}
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
// split (down to single bytes) and coalesced, with random short pauses.
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
		if rng.IntN(4) == 0 {
			time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
		}
	}
	return nil
}

// frameReader reads frames off a connection (see package wire).
type frameReader struct{ *wire.Reader }

func newFrameReader(c io.Reader, f server.Framing, bodyMax int) *frameReader {
	return &frameReader{wire.NewReader(c, f, bodyMax)}
}

// received is what one client read: frames, then how the stream ended.
type received struct {
	frames  [][]byte
	partial []byte // encoded prefix of a frame cut off by the close
	err     error  // nil: stopped after the frames wanted; io.EOF: clean end
}

// readFrames reads until keep has accepted want frames (want < 0: until the
// stream ends). keep may be nil (every frame counts).
func (r *frameReader) readFrames(want int, keep func([]byte) bool) received {
	var got received
	for counted := 0; want < 0 || counted < want; {
		b, err := r.Next()
		if err != nil {
			if errors.Is(err, wire.ErrPartial) {
				got.partial = b
			}
			got.err = err
			return got
		}
		got.frames = append(got.frames, b)
		if keep == nil || keep(b) {
			counted++
		}
	}
	return got
}

// origin says who sent a frame and its place in that client's sequence.
type origin struct{ client, seq int }

// index maps every frame body sent (sent[client] in send order) to its
// origin.
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
// keeps each client's send order, with no gap, duplicate or frame nobody
// sent. With complete set it must hold every frame sent; otherwise each
// client's frames in it must be a prefix of what that client sent. It
// returns how many of each client's frames seq holds.
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
				t.Errorf("%s holds %d of client %d's %d frames", name, count[c], c, len(frames))
			}
		}
	}
	return count
}

// checkSame checks that every sequence equals the first; names are
// "<what> i".
func checkSame(t *testing.T, what string, seqs [][][]byte) {
	t.Helper()
	for i := 1; i < len(seqs); i++ {
		if d := firstDiff(seqs[0], seqs[i]); d >= 0 {
			t.Errorf("%s %d's sequence (%d frames) differs from %s 0's (%d frames) at frame %d",
				what, i, len(seqs[i]), what, len(seqs[0]), d)
		}
	}
}

// checkPrefix checks that seq is a prefix of ref.
func checkPrefix(t *testing.T, name string, seq, ref [][]byte) {
	t.Helper()
	if len(seq) > len(ref) || firstDiff(seq, ref[:len(seq)]) >= 0 {
		t.Errorf("%s (%d frames) is not a prefix of the reference order (%d frames); first difference at %d",
			name, len(seq), len(ref), firstDiff(seq, ref[:min(len(seq), len(ref))]))
	}
}

// firstDiff is the first index where a and b differ, or -1 if equal.
func firstDiff(a, b [][]byte) int {
	for i := range min(len(a), len(b)) {
		if !bytes.Equal(a[i], b[i]) {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

func clip(b []byte) []byte { return b[:min(len(b), 24)] }

// chat is a group of bystanders exchanging frames while a test attacks the
// server; wait checks that they lost nothing.
type chat struct {
	t       *testing.T
	f       server.Framing
	conns   []*net.TCPConn
	readers []*frameReader
	sent    [][][]byte
	index   map[string]origin
	got     []received
	wg      sync.WaitGroup
}

// startChat makes each conn send perClient frames (bodies up to extraMax
// random bytes after the tag, writes cut at random points, pause on
// average between frames) while reading until it has every frame of the
// group. Frames from outside the group are allowed only if extra accepts
// them (extra may be nil).
func startChat(t *testing.T, f server.Framing, seed uint64, conns []*net.TCPConn, perClient, extraMax int,
	pause time.Duration, extra func([]byte) bool) *chat {
	t.Helper()
	g := &chat{t: t, f: f, conns: conns, sent: make([][][]byte, len(conns)), got: make([]received, len(conns))}
	for i := range conns {
		g.sent[i] = makeFrames(rand.New(rand.NewPCG(seed, uint64(i))), f, i, perClient, extraMax)
	}
	g.index = index(g.sent)
	total := len(conns) * perClient
	for _, c := range conns {
		g.readers = append(g.readers, newFrameReader(c, f, max(16+extraMax, 1<<16)))
	}
	for i, c := range conns {
		g.wg.Add(2)
		go func() {
			defer g.wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(1000+i)))
			for _, b := range g.sent[i] {
				if err := writeSplit(c, rng, f.Encode(nil, b)); err != nil {
					t.Errorf("bystander %d: write: %v", i, err)
					return
				}
				if pause > 0 {
					time.Sleep(time.Duration(rng.Int64N(int64(2 * pause))))
				}
			}
		}()
		go func() {
			defer g.wg.Done()
			g.got[i] = g.readers[i].readFrames(total, func(b []byte) bool {
				if g.isFrame(b) {
					return true
				}
				if extra == nil || !extra(b) {
					t.Errorf("bystander %d received a frame nobody sent: %d bytes %q", i, len(b), clip(b))
				}
				return false
			})
		}()
	}
	return g
}

// isFrame reports whether b is one of the chat's frames.
func (g *chat) isFrame(b []byte) bool {
	_, ok := g.index[string(b)]
	return ok
}

// wait waits for the chat to end and checks it: every bystander received
// every frame of the group, each sender's in its send order with no gap or
// duplicate, byte-exact, all in the same order. It returns the order.
func (g *chat) wait() [][]byte {
	g.t.Helper()
	g.wg.Wait()
	var ref [][]byte
	for i, r := range g.got {
		if r.err != nil {
			g.t.Errorf("bystander %d: read: %v after %d frames", i, r.err, len(r.frames))
			continue
		}
		var own [][]byte
		for _, b := range r.frames {
			if g.isFrame(b) {
				own = append(own, b)
			}
		}
		checkOrder(g.t, fmt.Sprint("bystander ", i), own, g.sent, true)
		if ref == nil {
			ref = own
		} else if d := firstDiff(ref, own); d >= 0 {
			g.t.Errorf("bystander %d's order differs from the first bystander's at frame %d", i, d)
		}
	}
	return ref
}

// finish is called after wait: bystander 0 sends marker, and every
// bystander reads on until it. It returns each bystander's whole sequence,
// frames from outside the group included, up to the marker. Everything
// the server read before the marker is in it.
func (g *chat) finish(marker []byte) [][][]byte {
	g.t.Helper()
	if _, err := g.conns[0].Write(g.f.Encode(nil, marker)); err != nil {
		g.t.Fatalf("marker: %v", err)
	}
	full := make([][][]byte, len(g.readers))
	var wg sync.WaitGroup
	for i, r := range g.readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rest := r.readFrames(1, func(b []byte) bool { return bytes.Equal(b, marker) })
			if rest.err != nil {
				g.t.Errorf("bystander %d: reading to the marker: %v", i, rest.err)
			}
			full[i] = append(append([][]byte(nil), g.got[i].frames...), rest.frames...)
		}()
	}
	wg.Wait()
	return full
}

// readError reads what a refused client is sent until the server closes:
// it must be exactly one frame whose body starts with "error: ", then the
// end of stream (or a reset, if the client still had unread input at the
// server). Frames before it are allowed if skip accepts them; atError, if
// not nil, runs when the error frame arrives. It returns the error body.
func readError(t *testing.T, name string, c net.Conn, f server.Framing, skip func([]byte) bool, atError func()) string {
	t.Helper()
	r := newFrameReader(c, f, 1<<16)
	var msg []byte
	for {
		b, err := r.Next()
		if err != nil {
			if msg == nil {
				t.Errorf("%s: stream ended (%v) without an error frame", name, err)
			} else if err != io.EOF {
				t.Errorf("%s: after the error frame: %v, want the end of stream", name, err)
			}
			return string(msg)
		}
		switch {
		case msg != nil:
			t.Errorf("%s: frame %q after the error frame", name, clip(b))
		case bytes.HasPrefix(b, []byte("error: ")):
			msg = b
			if atError != nil {
				atError()
			}
		case skip == nil || !skip(b):
			t.Errorf("%s: unexpected frame %q before the error", name, clip(b))
		}
	}
}
