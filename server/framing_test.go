package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// Scan finds the first complete frame, reports 0 for a prefix, and refuses
// input as soon as its prefix proves the frame too large or malformed.
func TestScan(t *testing.T) {
	mobHdr := func(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }
	cases := []struct {
		name string
		f    Framing
		in   []byte
		max  int
		want int
		err  error
	}{
		{"line complete", FramingLine, []byte("hi\nthere"), 10, 3, nil},
		{"line empty frame", FramingLine, []byte("\n"), 10, 1, nil},
		{"line partial", FramingLine, []byte("hi"), 10, 0, nil},
		{"line at limit", FramingLine, []byte("0123456789\n"), 10, 11, nil},
		{"line over limit", FramingLine, []byte("0123456789A\n"), 10, 0, ErrFrameTooLarge},
		{"line over limit no newline", FramingLine, []byte("0123456789A"), 10, 0, ErrFrameTooLarge},
		{"line at limit no newline yet", FramingLine, []byte("0123456789"), 10, 0, nil},
		{"line binary", FramingLine, []byte{0, 1, 0xff, '\n'}, 10, 4, nil},
		{"mob short header", FramingMob, []byte{0, 0, 0}, 10, 0, nil},
		{"mob complete", FramingMob, append(mobHdr(2), "hiX"...), 10, 10, nil},
		{"mob empty body", FramingMob, mobHdr(0), 10, 8, nil},
		{"mob partial body", FramingMob, append(mobHdr(5), "hi"...), 10, 0, nil},
		{"mob at limit", FramingMob, append(mobHdr(10), make([]byte, 10)...), 10, 18, nil},
		{"mob over limit", FramingMob, mobHdr(11), 10, 0, ErrFrameTooLarge},
		{"mob 2^63", FramingMob, mobHdr(1 << 63), 10, 0, ErrBadHeader},
		{"mob 2^63-1", FramingMob, mobHdr(1<<63 - 1), 10, 0, ErrFrameTooLarge},
	}
	for _, c := range cases {
		got, err := c.f.Scan(c.in, c.max)
		if !errors.Is(err, c.err) || (c.err == nil && err != nil) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.err)
		}
		if got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
}

// Encode then Scan gives back the frame, for both framings.
func TestEncodeScanRoundTrip(t *testing.T) {
	for _, f := range []Framing{FramingLine, FramingMob} {
		for _, body := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte{0}, 100)} {
			enc := f.Encode(nil, body)
			n, err := f.Scan(enc, 100)
			if err != nil || n != len(enc) {
				t.Fatalf("%v %q: scan %d, %v; want %d", f, body, n, err, len(enc))
			}
		}
	}
}

func TestParseFraming(t *testing.T) {
	for _, s := range []string{"line", "mob"} {
		f, err := ParseFraming(s)
		if err != nil || f.String() != s {
			t.Fatalf("ParseFraming(%q) = %v, %v", s, f, err)
		}
	}
	if _, err := ParseFraming("json"); err == nil {
		t.Fatal("ParseFraming accepted an unknown framing")
	}
}
