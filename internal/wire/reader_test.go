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
// ErrPartial — for both framings.
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
		cut := f.Encode(nil, []byte("hello"))
		cut = cut[:len(cut)-2]
		got, err := NewReader(bytes.NewReader(cut), f, 16).Next()
		if !errors.Is(err, ErrPartial) || !bytes.Equal(got, cut) {
			t.Fatalf("%v: cut: got %q, %v", f, got, err)
		}
	}
	if _, err := NewReader(bytes.NewReader(server.FramingMob.Encode(nil, make([]byte, 17))), server.FramingMob, 16).Next(); err == nil {
		t.Fatal("a header over bodyMax was accepted")
	}
}
