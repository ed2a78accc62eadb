package properties

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
	"github.com/mobsim/mobsim/server"
	"github.com/mobsim/mobsim/sim"
)

// refResult is what a decoder makes of a byte stream.
type refResult struct {
	frames [][]byte
	err    error // nil, ErrFrameTooLarge or ErrBadHeader
	errAt  int   // bytes of the stream needed to prove err
	rest   []byte
}

// refDecode is the reference decoder: it reads one byte at a time and keeps
// no state but the current frame, so it is obviously right. A line is too
// large when its (bodyMax+1)th byte is not a newline; a mob header is judged
// when its 8th byte arrives.
func refDecode(f server.Framing, data []byte, bodyMax int) refResult {
	var r refResult
	start := 0
	for i, b := range data {
		cur := data[start : i+1]
		if f == server.FramingLine {
			switch {
			case b == '\n':
				r.frames = append(r.frames, cur)
				start = i + 1
			case len(cur) > bodyMax:
				r.err, r.errAt = server.ErrFrameTooLarge, i+1
				return r
			}
			continue
		}
		if len(cur) < server.MobHeaderBytes {
			continue
		}
		size := binary.BigEndian.Uint64(cur)
		switch {
		case size >= 1<<63:
			r.err, r.errAt = server.ErrBadHeader, i+1
			return r
		case size > uint64(bodyMax):
			r.err, r.errAt = server.ErrFrameTooLarge, i+1
			return r
		case uint64(len(cur)) == server.MobHeaderBytes+size:
			r.frames = append(r.frames, cur)
			start = i + 1
		}
	}
	r.rest = data[start:]
	return r
}

// cutsOf turns fuzz bytes into chunk sizes (1 to 16) that cover data: the
// split points of the stream into reads.
func cutsOf(data, cuts []byte) []int {
	var out []int
	left := len(data)
	for i := 0; left > 0; i++ {
		n := left
		if len(cuts) > 0 {
			n = min(left, 1+int(cuts[i%len(cuts)]%16))
		}
		out = append(out, n)
		left -= n
	}
	return out
}

// scanChunks applies Scan the way a reader would: after each chunk arrives
// it takes every complete frame, keeping the partial rest. It returns the
// frames, the partial rest, the index of the chunk that proved an error
// (-1 if none), and the error.
func scanChunks(f server.Framing, data []byte, chunks []int, bodyMax int) (frames [][]byte, rest []byte, errChunk int, err error) {
	var buf []byte
	off := 0
	for ci, n := range chunks {
		buf = append(buf, data[off:off+n]...)
		off += n
		for {
			m, err := f.Scan(buf, bodyMax)
			if err != nil {
				return frames, buf, ci, err
			}
			if m == 0 {
				break
			}
			if m > len(buf) {
				return frames, buf, ci, fmt.Errorf("Scan claims %d of %d bytes", m, len(buf))
			}
			frames = append(frames, bytes.Clone(buf[:m]))
			buf = buf[m:]
		}
	}
	return frames, buf, -1, nil
}

// chunkOf returns the index of the chunk holding byte offset at-1.
func chunkOf(chunks []int, at int) int {
	for i, n := range chunks {
		if at <= n {
			return i
		}
		at -= n
	}
	return len(chunks) - 1
}

// checkDecoder compares Scan applied chunk by chunk, and the server reading
// the same chunks, with the reference decoder.
func checkDecoder(t *testing.T, f server.Framing, data, cuts []byte, bodyMax, readBuf int) {
	if len(data) > 2048 {
		data = data[:2048]
	}
	ref := refDecode(f, data, bodyMax)
	chunks := cutsOf(data, cuts)
	frames, rest, errChunk, err := scanChunks(f, data, chunks, bodyMax)
	if !equalFrames(frames, ref.frames) {
		t.Fatalf("Scan found frames %q, the reference %q", frames, ref.frames)
	}
	if !errors.Is(err, ref.err) || (err == nil) != (ref.err == nil) {
		t.Fatalf("Scan ends with %v, the reference with %v", err, ref.err)
	}
	if err != nil && errChunk != chunkOf(chunks, ref.errAt) {
		t.Fatalf("Scan reports %v after chunk %d; the %d bytes that prove it end in chunk %d (chunks %v)",
			err, errChunk, ref.errAt, chunkOf(chunks, ref.errAt), chunks)
	}
	if err == nil && !bytes.Equal(rest, ref.rest) {
		t.Fatalf("Scan keeps %q as a partial frame, the reference %q", rest, ref.rest)
	}
	checkServerDecoder(t, f, data, chunks, bodyMax, readBuf, ref)
}

func equalFrames(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// frameLog records what a server reports, for the fuzz targets.
type frameLog struct {
	frames  [][]byte
	left    bool
	leftWhy server.CloseReason
}

func (l *frameLog) Joined(kernel.Stream) {}
func (l *frameLog) Left(_ kernel.Stream, why server.CloseReason) {
	l.left, l.leftWhy = true, why
}
func (l *frameLog) Closed(kernel.Stream, server.CloseReason) {}
func (l *frameLog) Frame(_ kernel.Stream, head, tail []byte) {
	l.frames = append(l.frames, append(bytes.Clone(head), tail...))
}

// checkServerDecoder sends data to a server in the given chunks (one tick
// after each, with a read buffer of readBuf bytes) and compares the frames
// it reports, and how it ends the connection, with the reference.
func checkServerDecoder(t *testing.T, f server.Framing, data []byte, chunks []int, bodyMax, readBuf int, ref refResult) {
	k := netfake.New(rand.New(rand.NewPCG(1, 2)), netfake.Config{})
	ln, err := k.Listen(1)
	if err != nil {
		t.Fatal(err)
	}
	log := &frameLog{}
	srv, err := server.New(k, ln, server.Config{
		Framing: f, FrameBytesMax: bodyMax, QueueBytesMax: 1 << 20, IdleTimeout: -1,
		FrameTimeout: -1, InputRateBytesPerSec: -1, ReadBufferBytes: readBuf, Observer: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.EnableBugs(srv, bugNames()); err != nil {
		t.Fatal(err)
	}
	tick := func() {
		if err := srv.Tick(); err != nil {
			t.Fatal(err)
		}
		if err := srv.Check(); err != nil {
			t.Fatal(err)
		}
	}
	cl, err := k.Connect(ln)
	if err != nil {
		t.Fatal(err)
	}
	tick()
	if n, err := cl.Write(data); n != len(data) {
		t.Fatalf("client wrote %d of %d bytes: %v", n, len(data), err)
	}
	var sink [4096]byte
	for _, n := range chunks {
		k.Transmit(cl.ID(), n)
		tick()
		_, _ = cl.Read(sink[:]) // keep the echo from piling up
	}
	for range 8 {
		k.Flush()
		tick()
		_, _ = cl.Read(sink[:])
	}
	if !equalFrames(log.frames, ref.frames) {
		t.Fatalf("server read frames %q, the reference %q (chunks %v, read buffer %d)", log.frames, ref.frames, chunks, readBuf)
	}
	want := server.ReasonNone
	switch {
	case errors.Is(ref.err, server.ErrFrameTooLarge):
		want = server.ReasonFrameTooLarge
	case errors.Is(ref.err, server.ErrBadHeader):
		want = server.ReasonBadHeader
	}
	if log.left != (want != server.ReasonNone) || log.leftWhy != want {
		t.Fatalf("server: left=%v for %v; the reference says %v", log.left, log.leftWhy, want)
	}
}

// FuzzLineDecoder checks line framing on arbitrary bytes and split points:
// Scan applied chunk by chunk, and the server reading the same chunks, must
// find exactly the frames (and the error, in the same chunk) that a
// byte-at-a-time reference decoder finds.
func FuzzLineDecoder(f *testing.F) {
	f.Add([]byte("hello\nworld\n"), []byte{0, 3}, uint8(8), uint8(3))
	f.Add([]byte("a\n\nbb"), []byte{}, uint8(1), uint8(1))
	f.Add([]byte("exactly8\n12345678X\n"), []byte{7, 1}, uint8(8), uint8(5))
	f.Fuzz(func(t *testing.T, data, cuts []byte, bodyMax, readBuf uint8) {
		checkDecoder(t, server.FramingLine, data, cuts, 1+int(bodyMax), 1+int(readBuf%16))
	})
}

// FuzzMobDecoder is FuzzLineDecoder for mob framing (8-byte big-endian
// length headers, including ones over the limit and with bit 63 set).
func FuzzMobDecoder(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x00\x00\x00\x00\x02hi\x00\x00\x00\x00\x00\x00\x00\x00"), []byte{3, 9}, uint8(8), uint8(2))
	f.Add([]byte("\x00\x00\x00\x00\x00\x00\x01\x00xx"), []byte{}, uint8(16), uint8(0))
	f.Add([]byte("\x80\x00\x00\x00\x00\x00\x00\x01"), []byte{0}, uint8(4), uint8(7))
	f.Fuzz(func(t *testing.T, data, cuts []byte, bodyMax, readBuf uint8) {
		checkDecoder(t, server.FramingMob, data, cuts, 1+int(bodyMax), 1+int(readBuf%16))
	})
}

// simKnobs overrides a swarm world with four fuzz bytes, so the fuzzer
// steers the parts of the world a seed alone reaches slowly.
//
//	a: edge(1) batch(1) framing(1) shutdown(1) events-per-tick(2) read-buffer(2)
//	b: server rcvbuf(2) server sndbuf(2) client rcvbuf(2) client sndbuf(2)
//	c: one bit per fault kind: short-read short-write spurious-ready
//	   spurious-token reset pipe eintr econnaborted
//	d: emfile(1) fd-max(2) conns-max(2) fault-steps(3)
func simKnobs(cfg sim.Config, a, b, c, d uint8) sim.Config {
	bit := func(x uint8, i uint) bool { return x>>i&1 == 1 }
	two := func(x uint8, i uint) int { return int(x >> i & 3) }
	k := &cfg.Kernel
	k.Edge = netfake.EdgeMode(a & 1)
	k.Batch = netfake.BatchShape(a >> 1 & 1)
	bufs := [4]int{1, 7, 64, 65536}
	k.RecvBufBytes, k.SendBufBytes = bufs[two(b, 0)], bufs[two(b, 2)]
	k.ClientRecvBufBytes, k.ClientSendBufBytes = bufs[two(b, 4)], bufs[two(b, 6)]
	rate := func(on bool, p float64) float64 {
		if on {
			return p
		}
		return 0
	}
	k.Faults = netfake.FaultPlan{
		ShortRead: rate(bit(c, 0), 0.2), ShortWrite: rate(bit(c, 1), 0.2),
		SpuriousReady: rate(bit(c, 2), 0.1), SpuriousToken: rate(bit(c, 3), 0.1),
		Reset: rate(bit(c, 4), 0.01), Pipe: rate(bit(c, 5), 0.01),
		Interrupt: rate(bit(c, 6), 0.1), Abort: rate(bit(c, 7), 0.1),
		MFile: rate(bit(d, 0), 0.1),
	}
	k.FDMax = [4]int{4, 8, 64, 1024}[two(d, 1)]
	s := &cfg.Server
	s.Framing = server.Framing(1 + a>>2&1)
	cfg.Shutdown = bit(a, 3)
	s.EventsPerTickMax = [4]int{1, 3, 16, 256}[two(a, 4)]
	s.ReadBufferBytes = [4]int{1, 5, 64, 4096}[two(a, 6)]
	s.ConnsMax = [4]int{2, 4, 8, 100}[two(d, 3)]
	cfg.FaultSteps = 20 + 20*int(d>>5)
	return cfg
}

// FuzzSimSeed runs the simulator on a fuzzed seed, with the seed's swarm
// world overridden by four knob bytes (see simKnobs): every invariant must
// hold. A failure prints the world; `go test -run=FuzzSimSeed/<id>` replays it.
func FuzzSimSeed(f *testing.F) {
	f.Add(uint64(1), uint8(0), uint8(0), uint8(0), uint8(0))
	f.Add(uint64(42), uint8(0xff), uint8(0x55), uint8(0xff), uint8(0xff))
	f.Add(uint64(7), uint8(0x03), uint8(0x00), uint8(0x0c), uint8(0x1a))
	f.Fuzz(func(t *testing.T, seed uint64, a, b, c, d uint8) {
		cfg := simKnobs(sim.Swarm(seed), a, b, c, d)
		rep := sim.Run(seed, cfg, sim.Options{Bugs: bugNames()})
		if !rep.OK() {
			t.Fatalf("seed %d with knobs %#x %#x %#x %#x: %v\n  world: %s", seed, a, b, c, d, rep.Violation, rep.World)
		}
	})
}
