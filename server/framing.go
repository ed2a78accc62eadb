package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Framing is how a byte stream is cut into frames. The server relays each
// frame byte-exact, delimiter or header included.
type Framing uint8

// Framings.
const (
	// FramingLine: a frame is a run of bytes ending in '\n' (usable with nc).
	// The newline does not count towards FrameBytesMax.
	FramingLine Framing = iota + 1
	// FramingMob: an 8-byte big-endian length, then that many bytes of body —
	// the wire format of the original Rust mob. The header does not count
	// towards FrameBytesMax.
	FramingMob
)

// MobHeaderBytes is the size of a FramingMob length header.
const MobHeaderBytes = 8

// Protocol errors. A connection that sends one is told why and closed; the
// frames it sent before the bad one are still broadcast.
var (
	ErrFrameTooLarge = errors.New("frame too large")
	ErrBadHeader     = errors.New("bad length header")
)

func (f Framing) String() string {
	switch f {
	case FramingLine:
		return "line"
	case FramingMob:
		return "mob"
	}
	return fmt.Sprintf("Framing(%d)", uint8(f))
}

// ParseFraming maps "line" or "mob" to a Framing.
func ParseFraming(s string) (Framing, error) {
	switch s {
	case "line":
		return FramingLine, nil
	case "mob":
		return FramingMob, nil
	}
	return 0, fmt.Errorf("unknown framing %q (want line or mob)", s)
}

// headerBytes is the framing overhead of one frame.
func (f Framing) headerBytes() int {
	if f == FramingMob {
		return MobHeaderBytes
	}
	return 1
}

// Encode appends body as one frame to dst. For FramingLine a body holding
// '\n' would become several frames; Encode does not check.
func (f Framing) Encode(dst, body []byte) []byte {
	if f == FramingMob {
		dst = binary.BigEndian.AppendUint64(dst, uint64(len(body)))
		return append(dst, body...)
	}
	dst = append(dst, body...)
	return append(dst, '\n')
}

// Scan looks at the start of b. It returns the size of the complete frame
// there, 0 when b holds only part of a frame, or an error when b's prefix can
// never become a frame of at most bodyMax bytes. An error is reported as soon
// as the prefix proves it: a line longer than bodyMax with no newline yet, or
// a header announcing too much.
func (f Framing) Scan(b []byte, bodyMax int) (int, error) {
	if f == FramingMob {
		if len(b) < MobHeaderBytes {
			return 0, nil
		}
		size, err := mobBodySize(b, bodyMax)
		if err != nil {
			return 0, err
		}
		if total := MobHeaderBytes + size; len(b) >= total {
			return total, nil
		}
		return 0, nil
	}
	limit := min(len(b), bodyMax+1)
	if i := bytes.IndexByte(b[:limit], '\n'); i >= 0 {
		return i + 1, nil
	}
	if len(b) > bodyMax {
		return 0, errLineTooLong(bodyMax)
	}
	return 0, nil
}

// mobBodySize decodes and checks a FramingMob header.
func mobBodySize(h []byte, bodyMax int) (int, error) {
	n := binary.BigEndian.Uint64(h)
	if n > 1<<63-1 {
		return 0, fmt.Errorf("%w: length %#x does not fit a signed 64-bit integer", ErrBadHeader, n)
	}
	if n > uint64(bodyMax) {
		return 0, fmt.Errorf("%w: header announces %d bytes, limit is %d", ErrFrameTooLarge, n, bodyMax)
	}
	return int(n), nil
}

func errLineTooLong(bodyMax int) error {
	return fmt.Errorf("%w: no newline within %d bytes", ErrFrameTooLarge, bodyMax)
}
