package properties

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"github.com/mobsim/mobsim/netfake"
	"github.com/mobsim/mobsim/oracle"
	"github.com/mobsim/mobsim/server"
)

// framingGen draws one of the two framings.
func framingGen() *rapid.Generator[server.Framing] {
	return rapid.SampledFrom([]server.Framing{server.FramingLine, server.FramingMob})
}

// bodyGen draws a frame body of at most n bytes that framing f can carry:
// any bytes for mob, anything but '\n' for line. Bytes come from a small
// alphabet (with '\n' and NUL) so that delimiters and zero headers turn up.
func bodyGen(f server.Framing, n int) *rapid.Generator[[]byte] {
	alphabet := []byte("ab\n\x00\xff")
	if f == server.FramingLine {
		alphabet = []byte("ab\r\x00\xff")
	}
	return rapid.SliceOfN(rapid.SampledFrom(alphabet), 0, n)
}

// Encode and Scan agree: Scan finds exactly the encoded frame at the start
// of any longer input, sees nothing complete in any strict prefix of it, and
// refuses a body over the limit with ErrFrameTooLarge as soon as the prefix
// proves it. Method: rapid draws a framing, a limit, a body (sometimes over
// the limit), bytes already in the buffer, and trailing bytes.
func TestFramingRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		f := framingGen().Draw(t, "framing")
		bodyMax := rapid.IntRange(1, 32).Draw(t, "body max")
		body := bodyGen(f, bodyMax+3).Draw(t, "body")
		dst := rapid.SliceOfN(rapid.Byte(), 0, 4).Draw(t, "dst")
		after := rapid.SliceOfN(rapid.Byte(), 0, 12).Draw(t, "after")

		enc := f.Encode(bytes.Clone(dst), body)
		if !bytes.Equal(enc[:len(dst)], dst) {
			t.Fatalf("Encode changed the bytes before it: %q, want %q", enc[:len(dst)], dst)
		}
		frame := enc[len(dst):]
		head := 1
		if f == server.FramingMob {
			head = server.MobHeaderBytes
		}
		if len(frame) != len(body)+head {
			t.Fatalf("Encode made %d bytes of a %d-byte body", len(frame), len(body))
		}
		tooBig := len(body) > bodyMax
		n, err := f.Scan(append(bytes.Clone(frame), after...), bodyMax)
		switch {
		case !tooBig && (err != nil || n != len(frame)):
			t.Fatalf("Scan(frame+%q) = %d, %v; want %d, nil", after, n, err, len(frame))
		case tooBig && !errors.Is(err, server.ErrFrameTooLarge):
			t.Fatalf("Scan of a %d-byte body with limit %d = %d, %v; want ErrFrameTooLarge", len(body), bodyMax, n, err)
		}
		for i := range len(frame) {
			n, err := f.Scan(frame[:i], bodyMax)
			// A prefix proves a body too large once it holds the mob
			// header, or more than bodyMax bytes of a line.
			proves := tooBig && ((f == server.FramingMob && i >= head) || (f == server.FramingLine && i > bodyMax))
			switch {
			case proves && !errors.Is(err, server.ErrFrameTooLarge):
				t.Fatalf("Scan(prefix of %d) = %d, %v; want ErrFrameTooLarge", i, n, err)
			case !proves && (n != 0 || err != nil):
				t.Fatalf("Scan(prefix of %d of %d) = %d, %v; want 0, nil", i, len(frame), n, err)
			}
		}
	})
}

// framingWorld builds a world for one framing test: chaos off, no faults,
// buffers large enough that Transmit decides exactly how many bytes each
// read can see, and a drawn read buffer so reads split frames further.
func framingWorld(t *rapid.T, f server.Framing, bodyMax int) *world {
	var wc worldConfig
	wc.Seed = 1
	wc.Kernel = netfake.Config{RecvBufBytes: 1 << 16, SendBufBytes: 1 << 16, ClientRecvBufBytes: 1 << 16, ClientSendBufBytes: 1 << 16}
	wc.Server = server.Config{
		Framing:              f,
		FrameBytesMax:        bodyMax,
		QueueBytesMax:        1 << 20,
		IdleTimeout:          -1,
		FrameTimeout:         -1,
		InputRateBytesPerSec: -1,
		ReadBufferBytes:      rapid.SampledFrom([]int{4096, 1, 2, 3, 5, 8, 9}).Draw(t, "read buffer"),
		ReadBytesPerTickMax:  rapid.SampledFrom([]int{65536, 1, 4, 9}).Draw(t, "read bytes per tick"),
		PartialKeepBytesMax:  rapid.SampledFrom([]int{1024, 1}).Draw(t, "partial keep"),
	}
	wc.Backlog = 4
	wc.Clients = 2
	w := newWorld(t, wc)
	w.setChaos(false)
	return w
}

// joinTwo connects a sender and a receiver and ticks until both are members.
func (w *world) joinTwo() (snd, rcv *client) {
	snd, _ = w.connect()
	rcv, _ = w.connect()
	for range 10 {
		if w.state(snd).Joined && w.state(rcv).Joined {
			return snd, rcv
		}
		w.k.Flush()
		w.tick()
	}
	w.t.Fatalf("sender and receiver did not join")
	return nil, nil
}

// deliver transmits the sender's bytes to the server in the drawn cuts,
// ticking after each, then drains.
func (w *world) deliver(snd *client, cuts []int) {
	for _, n := range cuts {
		if !w.k.Transmit(snd.id, n) {
			break
		}
		w.t.Logf("network: %d bytes reach the server; server ticks", n)
		w.tick()
	}
	w.drain()
	w.final()
}

// Any split of a byte stream into reads yields the same frames, through the
// server, whose partial-frame path is the risky one. Method: rapid draws a
// framing, a limit and frames; one client writes them all, the network hands
// the server the bytes in drawn cuts (a tick after each), and the server's
// read buffer splits them further; a second client listens. Both clients
// must receive the stream exactly, and the server must report exactly the
// frames sent.
func TestFramingSplits(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		f := framingGen().Draw(t, "framing")
		bodyMax := rapid.IntRange(1, 24).Draw(t, "body max")
		bodies := rapid.SliceOfN(bodyGen(f, bodyMax), 1, 8).Draw(t, "bodies")
		w := framingWorld(t, f, bodyMax)
		snd, rcv := w.joinTwo()
		var stream []byte
		for _, b := range bodies {
			frame := f.Encode(nil, b)
			stream = append(stream, frame...)
			w.queue(snd, frame)
		}
		w.pump(snd, len(stream))
		cuts := rapid.SliceOfN(rapid.IntRange(1, 12), 0, 2*len(stream)).Draw(t, "cuts")
		w.deliver(snd, cuts)

		if got := w.state(snd).Frames; got != len(bodies) || w.o.Frames() != len(bodies) {
			t.Fatalf("server read %d frames from the sender (%d in all); it sent %d", got, w.o.Frames(), len(bodies))
		}
		for _, c := range []*client{snd, rcv} {
			if !bytes.Equal(c.recv, stream) {
				t.Fatalf("%s received %q, want %q", c.name, c.recv, stream)
			}
		}
	})
}

// badKind is a way for a frame to be refused.
type badKind uint8

const (
	badLongLine  badKind = iota // a line longer than the limit
	badBigHeader                // a mob header announcing more than the limit
	badBit63                    // a mob header with bit 63 set
)

// Malformed and oversized input gets the documented error, and no earlier
// frame is lost. Method: rapid draws a framing, good frames, one bad frame
// (a line over the limit, with or without its newline; a mob header over
// the limit, up to 2^63-1; a mob header with bit 63 set) and good frames
// after it, split into random cuts. Scan applied incrementally must return
// the good frames and then ErrFrameTooLarge or ErrBadHeader; through the
// server, the sender leaves for frame-too-large or bad-header, everyone
// receives exactly the good frames before the bad one, and the sender also
// gets one frame whose body starts "error: ", then EOF.
func TestFramingErrors(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		f := framingGen().Draw(t, "framing")
		bodyMax := rapid.IntRange(1, 24).Draw(t, "body max")
		before := rapid.SliceOfN(bodyGen(f, bodyMax), 0, 4).Draw(t, "good frames before")
		after := rapid.SliceOfN(bodyGen(f, bodyMax), 0, 3).Draw(t, "frames after")
		kind := badLongLine
		if f == server.FramingMob {
			kind = rapid.SampledFrom([]badKind{badBigHeader, badBit63}).Draw(t, "kind")
		}
		var bad []byte
		wantErr, wantWhy := server.ErrFrameTooLarge, server.ReasonFrameTooLarge
		switch kind {
		case badLongLine:
			bad = bytes.Repeat([]byte{'x'}, bodyMax+rapid.IntRange(1, 8).Draw(t, "over by"))
			if rapid.Bool().Draw(t, "with newline") {
				bad = append(bad, '\n')
			}
		case badBigHeader:
			size := rapid.SampledFrom([]uint64{uint64(bodyMax) + 1, 1 << 32, 1<<63 - 1}).Draw(t, "announced")
			bad = binary.BigEndian.AppendUint64(nil, size)
			bad = append(bad, bytes.Repeat([]byte{'x'}, rapid.IntRange(0, bodyMax+2).Draw(t, "body sent"))...)
		case badBit63:
			bad = binary.BigEndian.AppendUint64(nil, 1<<63|rapid.Uint64Max(1<<20).Draw(t, "low bits"))
			wantErr, wantWhy = server.ErrBadHeader, server.ReasonBadHeader
		}

		var good, stream []byte
		for _, b := range before {
			good = f.Encode(good, b)
		}
		stream = append(append(stream, good...), bad...)
		for _, b := range after {
			stream = f.Encode(stream, b)
		}

		// Scan, incrementally over the whole stream.
		frames, err := scanAll(f, stream, bodyMax)
		if !errors.Is(err, wantErr) {
			t.Fatalf("Scan over %q ends with %v, want %v", stream, err, wantErr)
		}
		if got := bytes.Join(frames, nil); !bytes.Equal(got, good) {
			t.Fatalf("Scan found frames %q before the error, want %q", got, good)
		}

		// The server.
		w := framingWorld(t, f, bodyMax)
		snd, rcv := w.joinTwo()
		for _, b := range before {
			w.queue(snd, f.Encode(nil, b))
		}
		w.queue(snd, bad)
		for _, b := range after {
			w.queue(snd, f.Encode(nil, b))
		}
		w.pump(snd, len(stream))
		cuts := rapid.SliceOfN(rapid.IntRange(1, 12), 0, 2*len(stream)).Draw(t, "cuts")
		w.deliver(snd, cuts)

		st := w.state(snd)
		if !st.Left || st.LeaveWhy != wantWhy || st.CloseWhy != wantWhy {
			t.Fatalf("sender left=%v (%v), closed %v; want it to leave and close for %v", st.Left, st.LeaveWhy, st.CloseWhy, wantWhy)
		}
		if st.Frames != len(before) {
			t.Fatalf("server read %d frames from the sender, want the %d before the bad one", st.Frames, len(before))
		}
		if !bytes.Equal(rcv.recv, good) {
			t.Fatalf("receiver got %q, want %q", rcv.recv, good)
		}
		if !bytes.HasPrefix(snd.recv, good) || !errorFrameWhole(f, snd.recv[len(good):]) || !snd.eof {
			t.Fatalf("sender got %q (EOF %v), want %q then one error frame, then EOF", snd.recv, snd.eof, good)
		}
		t.Logf("sender was told %q", snd.recv[len(good):])
	})
}

// state is what the oracle says of c's connection.
func (w *world) state(c *client) oracle.ConnState {
	st, _ := w.o.Conn(c.id)
	return st
}

// errorFrameWhole reports whether b is exactly one frame whose body starts
// with "error: ".
func errorFrameWhole(f server.Framing, b []byte) bool {
	n, err := f.Scan(b, len(b))
	if err != nil || n != len(b) || n == 0 {
		return false
	}
	body := b[:n]
	if f == server.FramingMob {
		body = body[server.MobHeaderBytes:]
	} else {
		body = body[:len(body)-1]
	}
	return bytes.HasPrefix(body, []byte("error: "))
}

// scanAll applies Scan from the start of b until it needs more bytes or
// fails, and returns the frames found and the error.
func scanAll(f server.Framing, b []byte, bodyMax int) ([][]byte, error) {
	var frames [][]byte
	for {
		n, err := f.Scan(b, bodyMax)
		if err != nil {
			return frames, err
		}
		if n == 0 {
			return frames, nil
		}
		if n > len(b) {
			return frames, fmt.Errorf("scan claims %d bytes of %d", n, len(b))
		}
		frames = append(frames, b[:n])
		b = b[n:]
	}
}
