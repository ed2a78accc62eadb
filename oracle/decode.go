package oracle

import (
	"bytes"
	"encoding/binary"
	"strconv"

	"github.com/mobsim/mobsim/server"
)

// decoder is the oracle's own frame decoder. It is written independently of
// the server's (buffer everything, cut from the front) so a framing bug in
// the server cannot hide behind the same bug here.
type decoder struct {
	mob     bool
	bodyMax int
	buf     []byte
	// err is the protocol error the stream proved (frame-too-large or
	// bad-header), ReasonNone while it is well formed; later bytes are
	// ignored.
	err server.CloseReason
}

func newDecoder(cfg server.Config) decoder {
	return decoder{mob: cfg.Framing == server.FramingMob, bodyMax: cfg.FrameBytesMax}
}

// feed adds p and calls emit for each complete frame, in order. It stops at
// the first protocol error and records it.
func (d *decoder) feed(p []byte, emit func(frame []byte)) {
	if d.err != server.ReasonNone {
		return
	}
	d.buf = append(d.buf, p...)
	start := 0
	for d.err == server.ReasonNone {
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
		if len(b) < server.MobHeaderBytes {
			return 0
		}
		n := binary.BigEndian.Uint64(b)
		switch {
		case n >= 1<<63:
			d.err = server.ReasonBadHeader
			return 0
		case n > uint64(d.bodyMax):
			d.err = server.ReasonFrameTooLarge
			return 0
		case uint64(len(b)) < server.MobHeaderBytes+n:
			return 0
		}
		return server.MobHeaderBytes + int(n)
	}
	i := bytes.IndexByte(b, '\n')
	switch {
	case i > d.bodyMax || (i < 0 && len(b) > d.bodyMax):
		d.err = server.ReasonFrameTooLarge
		return 0
	case i < 0:
		return 0
	}
	return i + 1
}

const errorPrefix = "error: "

// isErrorFrame reports whether b is exactly one frame whose body starts
// with "error: ".
func (o *Oracle) isErrorFrame(b []byte) bool {
	d := decoder{mob: o.cfg.Framing == server.FramingMob, bodyMax: 1 << 20}
	var frames [][]byte
	d.feed(b, func(f []byte) { frames = append(frames, f) })
	if len(frames) != 1 || len(d.buf) != 0 {
		return false
	}
	body := frames[0]
	if d.mob {
		body = body[server.MobHeaderBytes:]
	}
	return bytes.HasPrefix(body, []byte(errorPrefix))
}

// errorFramePrefix reports whether b can be the start of one frame whose
// body starts with "error: ".
func (o *Oracle) errorFramePrefix(b []byte) bool {
	body := b
	if o.cfg.Framing == server.FramingMob {
		if len(b) < server.MobHeaderBytes {
			return true
		}
		size := binary.BigEndian.Uint64(b)
		body = b[server.MobHeaderBytes:]
		if uint64(len(body)) > size {
			return false
		}
	} else if i := bytes.IndexByte(b, '\n'); i >= 0 && i != len(b)-1 {
		return false
	}
	m := min(len(body), len(errorPrefix))
	return string(body[:m]) == errorPrefix[:m]
}

// rejectLine is the one frame a connection turned away at ConnsMax is sent.
func (o *Oracle) rejectLine() []byte {
	return o.cfg.Framing.Encode(nil, []byte("error: server full ("+strconv.Itoa(o.cfg.ConnsMax)+" connections)"))
}
