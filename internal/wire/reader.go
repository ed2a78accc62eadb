package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/mobsim/mobsim/server"
)

// ErrPartial says the stream ended inside a frame.
var ErrPartial = errors.New("stream ended inside a frame")

// ErrTooLarge says a mob header announced a body larger than the reader's
// bound: the stream is out of step, or the server sent what no client of
// the caller's sent.
var ErrTooLarge = errors.New("header announces a frame larger than any sent")

// readBufBytes is the Reader's buffer: large enough that a broadcast burst
// is parsed from memory, not one read call per frame.
const readBufBytes = 64 << 10

// Reader reads frames off a byte stream.
type Reader struct {
	br      *bufio.Reader
	f       server.Framing
	bodyMax int
	hdr     [server.MobHeaderBytes]byte // here, not on the stack: io.ReadFull would move it to the heap per frame
}

// NewReader reads frames of framing f from r. bodyMax bounds the body a
// mob header may announce.
func NewReader(r io.Reader, f server.Framing, bodyMax int) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, readBufBytes), f: f, bodyMax: bodyMax}
}

// Next returns the next frame's body (without its newline or header) in a
// new slice. At a clean end of stream it returns io.EOF; inside a frame,
// the encoded bytes read so far and ErrPartial.
func (r *Reader) Next() ([]byte, error) { return r.Append(nil) }

// Append is Next appending the body to dst, so that a reader of many
// frames can reuse one buffer: it returns dst extended by the body (or, at
// ErrPartial, by the frame's encoded prefix).
func (r *Reader) Append(dst []byte) ([]byte, error) {
	if r.f == server.FramingLine {
		return r.appendLine(dst)
	}
	h := r.hdr[:]
	n, err := io.ReadFull(r.br, h)
	switch {
	case errors.Is(err, io.EOF):
		return dst, io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return append(dst, h[:n]...), ErrPartial
	case err != nil:
		return dst, err
	}
	size := binary.BigEndian.Uint64(h)
	if size > uint64(r.bodyMax) {
		return dst, fmt.Errorf("%w: %d bytes, bound %d", ErrTooLarge, size, r.bodyMax)
	}
	start := len(dst)
	dst = append(dst, make([]byte, size)...)
	n, err = io.ReadFull(r.br, dst[start:])
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		// The header goes where the body began: build the prefix in a new
		// array, so that the body's first bytes are not overwritten first.
		return append(append(dst[:start:start], h...), dst[start:start+n]...), ErrPartial
	}
	return dst, err
}

func (r *Reader) appendLine(dst []byte) ([]byte, error) {
	start := len(dst)
	for {
		b, err := r.br.ReadSlice('\n')
		dst = append(dst, b...)
		switch {
		case err == nil:
			return dst[:len(dst)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(dst) > start:
			return dst, ErrPartial
		}
		return dst, err
	}
}

// Buffered is how many bytes have been read from the stream but not yet
// returned as frames: 0 means the next Next will call Read.
func (r *Reader) Buffered() int { return r.br.Buffered() }
