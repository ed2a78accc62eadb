package sim

import (
	"errors"
	"io"
	"math/rand/v2"
	"strconv"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
	"github.com/mobsim/mobsim/oracle"
	"github.com/mobsim/mobsim/server"
)

// client is one scripted client. It never blocks: each step it does a little
// of its script through the fake kernel's client API.
type client struct {
	idx  int
	spec ClientSpec
	conn *netfake.Client
	id   uint64

	out        []byte // encoded frames not yet taken by the kernel
	sent       int    // frames queued in out (complete or not)
	finSent    bool
	tailQueued bool // a half-closer decided whether to end mid-frame
	gotEOF     bool
	told       bool // told to go (its bad frame, the server's FIN, a shutdown): a stubborn client keeps talking
	keptOn     bool // a stubborn client read the server's FIN and kept its socket
	gone       bool // reset or closed by the client; no further checks
	refused    int  // connects refused (backlog full)
	again      int  // step at which a reconnecter connects again
	rounds     int  // reconnecter's connections so far
	finished   bool // script done; the client stays to read in the drain
	buf        []byte
	wrote      uint64 // bytes the kernel took on this connection
	recv       uint64 // bytes read on this connection
}

// body makes a frame body that names its sender and sequence number, padded
// with bytes from the rng (any byte for mob framing, no newline for line).
func (c *client) body(r *rand.Rand, f server.Framing, size int) []byte {
	b := make([]byte, 0, max(size, 16))
	b = append(b, 'c')
	b = strconv.AppendInt(b, int64(c.idx), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(c.sent), 10)
	b = append(b, ' ')
	for len(b) < size {
		x := byte(r.IntN(256))
		if f == server.FramingLine && x == '\n' {
			x = '.'
		}
		b = append(b, x)
	}
	if len(b) > size && size > 0 {
		b = b[:size]
	}
	return b
}

func (c *client) queueFrame(r *rand.Rand, f server.Framing) {
	size := 1 + r.IntN(c.spec.BodyMax)
	c.out = f.Encode(c.out, c.body(r, f, size))
	c.sent++
}

// writeSome hands part of out to the kernel, split at a random point (at
// most limit bytes, if limit > 0), and tells the oracle what it took.
func (c *client) writeSome(r *rand.Rand, o *oracle.Oracle, limit int) error {
	if len(c.out) == 0 {
		return nil
	}
	n := len(c.out)
	if r.IntN(3) == 0 {
		n = 1 + r.IntN(n)
	}
	if limit > 0 {
		n = min(n, limit)
	}
	w, err := c.conn.Write(c.out[:n])
	if w > 0 {
		o.ClientSent(c.id, c.out[:w])
	}
	c.out = c.out[w:]
	c.wrote += uint64(w)
	if errors.Is(err, kernel.ErrWouldBlock) {
		return nil
	}
	return err
}

// readSome reads up to limit bytes (limit < 0: until would-block) and passes
// them to got.
func (c *client) readSome(limit int, got func([]byte)) error {
	if cap(c.buf) == 0 {
		c.buf = make([]byte, 4096)
	}
	for limit != 0 {
		p := c.buf
		if limit > 0 && limit < len(p) {
			p = p[:limit]
		}
		n, err := c.conn.Read(p)
		if n > 0 {
			got(p[:n])
			if limit > 0 {
				limit -= n
			}
		}
		if err != nil {
			if errors.Is(err, kernel.ErrWouldBlock) {
				return nil
			}
			if errors.Is(err, io.EOF) {
				c.gotEOF = true
				return nil
			}
			return err
		}
	}
	return nil
}
