package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"

	"github.com/mobsim/mobsim/server"
)

// relayExact has sender send frames (encoded with f, each write cut at
// random points) and checks that every client, the sender included, reads
// exactly those bodies back, byte for byte, in order.
func relayExact(t *testing.T, f server.Framing, seed uint64, conns []*net.TCPConn, frames [][]byte, bodyMax int) {
	t.Helper()
	got := make([]received, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = newFrameReader(c, f, bodyMax).readFrames(len(frames), nil)
		}()
	}
	var stream []byte
	for _, b := range frames {
		stream = f.Encode(stream, b)
	}
	if err := writeSplit(conns[0], rand.New(rand.NewPCG(seed, 1)), stream); err != nil {
		t.Errorf("sender: write: %v", err)
	}
	wg.Wait()
	for i, g := range got {
		if g.err != nil {
			t.Errorf("client %d: read: %v after %d frames", i, g.err, len(g.frames))
			continue
		}
		for j, b := range g.frames {
			if !bytes.Equal(b, frames[j]) {
				t.Errorf("client %d: frame %d is %d bytes %q..., want %d bytes %q...",
					i, j, len(b), clip(b), len(frames[j]), clip(frames[j]))
			}
		}
	}
}

// Goal: mob framing relays any bytes byte-exact: a body holding all 256
// byte values, NUL-only and newline-only bodies, an empty body, a body of
// the exact size limit, and random binary bodies. Method: one of three
// clients sends them through the child server with writes cut at random
// points (down to single bytes, so headers split); all three must read the
// same bodies back.
func TestBinaryFramesMob(t *testing.T) {
	const frameBytesMax = 4096
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 0))
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	frames := [][]byte{
		all,
		bytes.Repeat([]byte{0}, 1000),
		bytes.Repeat([]byte{'\n'}, 100),
		{},
		append(bytes.Repeat([]byte{0xff}, frameBytesMax-256), all...)[:frameBytesMax],
		[]byte("\r\n\x00\xc3\x28 invalid UTF-8 \xed\xa0\x80"),
	}
	for range 100 {
		b := make([]byte, rng.IntN(frameBytesMax+1))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		frames = append(frames, b)
	}
	p := startMob(t, false, "-framing", "mob", "-frame-bytes-max", fmt.Sprint(frameBytesMax))
	conns := dialMembers(t, p, 3, 3)
	relayExact(t, server.FramingMob, seed, conns, frames, frameBytesMax)
	v := p.vars()
	if v.FramesIn != uint64(len(frames)) || v.ClosedTotal != 0 {
		t.Errorf("server read %d frames and closed %v; want %d frames and no close", v.FramesIn, v.Closed, len(frames))
	}
}

// Goal: line framing relays NUL and every other byte but the newline as
// is: lines made of NULs, with NUL next to the newline, with CR, with bytes
// that are not UTF-8, and an empty line. Method: one of three clients sends
// them through the child server, writes cut at random points; all three
// must read the same lines back.
func TestBinaryFramesLine(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 0))
	noNewline := make([]byte, 0, 255)
	for i := range 256 {
		if i != '\n' {
			noNewline = append(noNewline, byte(i))
		}
	}
	frames := [][]byte{
		noNewline,
		{0},
		bytes.Repeat([]byte{0}, 3000),
		[]byte("a\x00b\x00"),
		[]byte("\x00"),
		{},
		[]byte("crlf\r"),
		[]byte("\xff\xfe\x00\x80 not UTF-8"),
	}
	for range 100 {
		b := make([]byte, rng.IntN(2048))
		for j := range b {
			if b[j] = byte(rng.Uint32()); b[j] == '\n' {
				b[j] = 0
			}
		}
		frames = append(frames, b)
	}
	p := startMob(t, false, "-frame-bytes-max", "4096")
	conns := dialMembers(t, p, 3, 3)
	relayExact(t, server.FramingLine, seed, conns, frames, 4096)
	v := p.vars()
	if v.FramesIn != uint64(len(frames)) || v.ClosedTotal != 0 {
		t.Errorf("server read %d frames and closed %v; want %d frames and no close", v.FramesIn, v.Closed, len(frames))
	}
}
