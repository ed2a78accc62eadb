package sim

import (
	"bytes"
	"encoding/binary"
)

// decoder is the oracle's own frame decoder. It is written independently of
// the server's (buffer everything, cut from the front) so a framing bug in
// the server cannot hide behind the same bug here.
type decoder struct {
	mob     bool
	bodyMax int
	buf     []byte
	err     string // set once the stream proved malformed; later bytes are ignored
}

const (
	errTooLarge  = "frame-too-large"
	errBadHeader = "bad-header"
)

// feed adds p and calls emit for each complete frame, in order. It stops at
// the first protocol error and records it.
func (d *decoder) feed(p []byte, emit func(frame []byte)) {
	if d.err != "" {
		return
	}
	d.buf = append(d.buf, p...)
	start := 0
	for d.err == "" {
		n := d.next(d.buf[start:])
		if n == 0 {
			break
		}
		emit(d.buf[start : start+n])
		start += n
	}
	d.buf = append(d.buf[:0], d.buf[start:]...)
}

// next returns the length of the complete frame at the start of b, or 0.
func (d *decoder) next(b []byte) int {
	if d.mob {
		if len(b) < 8 {
			return 0
		}
		n := binary.BigEndian.Uint64(b)
		switch {
		case n >= 1<<63:
			d.err = errBadHeader
			return 0
		case n > uint64(d.bodyMax):
			d.err = errTooLarge
			return 0
		case uint64(len(b)) < 8+n:
			return 0
		}
		return 8 + int(n)
	}
	i := bytes.IndexByte(b, '\n')
	switch {
	case i > d.bodyMax || (i < 0 && len(b) > d.bodyMax):
		d.err = errTooLarge
		return 0
	case i < 0:
		return 0
	}
	return i + 1
}
