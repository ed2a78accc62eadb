// Package wire reads the server's two framings from the client side of a
// connection, for the live tests and tools that play clients: whole frames,
// a clean end of stream, or the prefix of a frame the stream was cut in.
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

// Reader reads frames off a byte stream.
type Reader struct {
	br      *bufio.Reader
	f       server.Framing
	bodyMax int
}

// NewReader reads frames of framing f from r. bodyMax bounds the body a
// mob header may announce; a larger one is an error (no client of the
// tests sends one, so it means the stream is out of step).
func NewReader(r io.Reader, f server.Framing, bodyMax int) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), f: f, bodyMax: bodyMax}
}

// Next returns the next frame's body (without its newline or header). At a
// clean end of stream it returns io.EOF; inside a frame, the encoded bytes
// read so far and ErrPartial.
func (r *Reader) Next() ([]byte, error) {
	if r.f == server.FramingLine {
		b, err := r.br.ReadBytes('\n')
		switch {
		case err == nil:
			return b[:len(b)-1], nil
		case errors.Is(err, io.EOF) && len(b) > 0:
			return b, ErrPartial
		}
		return nil, err
	}
	var h [server.MobHeaderBytes]byte
	n, err := io.ReadFull(r.br, h[:])
	switch {
	case errors.Is(err, io.EOF):
		return nil, io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return h[:n], ErrPartial
	case err != nil:
		return nil, err
	}
	size := binary.BigEndian.Uint64(h[:])
	if size > uint64(r.bodyMax) {
		return nil, fmt.Errorf("header announces %d bytes, more than any frame sent (%d)", size, r.bodyMax)
	}
	body := make([]byte, size)
	n, err = io.ReadFull(r.br, body)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return append(h[:], body[:n]...), ErrPartial
	}
	return body, err
}
