package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/mobsim/mobsim/server"
)

// Whole frames come back as bodies, in order; a clean end is io.EOF; a
// stream cut inside a frame returns that frame's encoded prefix with
// ErrPartial — for both framings, cut in the header and in the body.
func TestReader(t *testing.T) {
	for _, f := range []server.Framing{server.FramingLine, server.FramingMob} {
		var stream []byte
		bodies := [][]byte{[]byte("a"), {}, []byte("\x00\xff")}
		for _, b := range bodies {
			stream = f.Encode(stream, b)
		}
		r := NewReader(bytes.NewReader(stream), f, 16)
		for _, want := range bodies {
			got, err := r.Next()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%v: got %q, %v; want %q", f, got, err, want)
			}
		}
		if _, err := r.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("%v: end: %v, want io.EOF", f, err)
		}
		whole := f.Encode(nil, []byte("hello, world"))
		for _, cut := range []int{1, len(whole) / 2, len(whole) - 1} {
			got, err := NewReader(bytes.NewReader(whole[:cut]), f, 16).Next()
			if !errors.Is(err, ErrPartial) || !bytes.Equal(got, whole[:cut]) {
				t.Fatalf("%v: cut at %d: got %q, %v; want %q and ErrPartial", f, cut, got, err, whole[:cut])
			}
		}
	}
}

// A mob header over the bound is ErrTooLarge, at the bound it is a frame.
func TestReaderBound(t *testing.T) {
	f := server.FramingMob
	if b, err := NewReader(bytes.NewReader(f.Encode(nil, make([]byte, 16))), f, 16).Next(); err != nil || len(b) != 16 {
		t.Fatalf("a body at the bound: %d bytes, %v", len(b), err)
	}
	if _, err := NewReader(bytes.NewReader(f.Encode(nil, make([]byte, 17))), f, 16).Next(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a header over the bound: %v, want ErrTooLarge", err)
	}
}

// Append reuses the caller's buffer: reading many frames into one buffer
// allocates nothing once it has grown, and each body is the frame's; a
// line longer than the reader's own buffer comes back whole.
func TestReaderAppend(t *testing.T) {
	for _, f := range []server.Framing{server.FramingLine, server.FramingMob} {
		long := bytes.Repeat([]byte{'x'}, 3*readBufBytes+5)
		var stream []byte
		for range 200 { // AllocsPerRun runs once to warm up, then once measured
			stream = f.Encode(stream, []byte("a frame"))
		}
		stream = f.Encode(stream, long)
		r := NewReader(bytes.NewReader(stream), f, len(long))
		buf := make([]byte, 0, 64)
		allocs := testing.AllocsPerRun(1, func() {
			for range 100 {
				var err error
				if buf, err = r.Append(buf[:0]); err != nil || string(buf) != "a frame" {
					t.Fatalf("%v: got %d bytes %.20q, %v", f, len(buf), buf, err)
				}
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations for 100 frames into a reused buffer, want 0", f, allocs)
		}
		if b, err := r.Append(buf[:0]); err != nil || !bytes.Equal(b, long) {
			t.Errorf("%v: long frame: %d bytes, %v; want %d", f, len(b), err, len(long))
		}
	}
}
