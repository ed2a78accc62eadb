package kerneltest

import (
	"errors"
	"fmt"
	"io"

	"github.com/mobsim/mobsim/kernel"
)

// hintBits are the readiness hints that announce a stream's end (a FIN, a
// reset): after one, a short read is not the end of reading.
const hintBits = kernel.ReadyReadClosed | kernel.ReadyWriteClosed | kernel.ReadyError

// shortReader reads one stream the way a caller that drains by short read
// does: it stops at a read that returned fewer bytes than its buffer
// holds, unless an event for the stream has carried a hint, and then
// awaits the next readable event. Only the short-read clause (and the
// hints, for a FIN or a reset that came with the bytes) can make every
// byte and the stream's end reach it.
type shortReader struct {
	c      *checker
	s      kernel.Stream
	tok    kernel.Token
	buf    []byte
	hinted bool // an event for tok carried a hint: read to the end
	out    []byte
	reads  int // Read calls made
	shorts int // reads that returned fewer bytes than asked, with no error
}

func newShortReader(c *checker, s kernel.Stream, tok kernel.Token, bufBytes int) *shortReader {
	return &shortReader{c: c, s: s, tok: tok, buf: make([]byte, bufBytes)}
}

// took notes an event's readiness for the stream.
func (r *shortReader) took(ready kernel.Ready) {
	r.hinted = r.hinted || ready&hintBits != 0
}

// readNow reads until a short read (without a hint), ErrWouldBlock, io.EOF
// or an error, and returns the error that stopped it (nil for a short read
// and for ErrWouldBlock).
func (r *shortReader) readNow() error {
	for {
		n, err := r.s.Read(r.buf)
		r.reads++
		r.out = append(r.out, r.buf[:n]...)
		switch {
		case errors.Is(err, kernel.ErrWouldBlock):
			return nil
		case err != nil:
			return err
		case n == 0:
			return errors.New("read returned 0 bytes and no error")
		case n < len(r.buf):
			r.shorts++
			if !r.hinted {
				return nil
			}
		}
	}
}

// recv awaits a readable event and reads, until it holds n bytes or Read
// stops with io.EOF or an error, which it returns.
func (r *shortReader) recv(n int) error {
	r.c.t.Helper()
	for len(r.out) < n {
		r.took(r.c.await(r.tok, fmt.Sprintf("readable edge after a short read (%d of %d bytes read, hint seen: %v)", len(r.out), n, r.hinted), readable, nil))
		if err := r.readNow(); err != nil {
			return err
		}
	}
	return nil
}

// Draining by short read: messages read with a buffer larger than each,
// stopping at the short read, then a payload larger than any socket buffer
// read through a small buffer (full reads go on, short ones stop), then
// bytes with a FIN and bytes with a reset behind them, where the short read
// returns the bytes and the hint on the event says to read on.
func drainByShortRead(c *checker) {
	peer, s := c.pair()
	c.register(s, 1, kernel.InterestRead)
	r := newShortReader(c, s, 1, 64)
	sent := ""
	for _, msg := range []string{"a", "bb", "ccc"} {
		c.peerSend(peer, msg)
		sent += msg
		if err := r.recv(len(sent)); err != nil {
			c.t.Fatalf("Read after %q: %v", r.out, err)
		}
	}
	if string(r.out) != sent || r.shorts == 0 {
		c.t.Fatalf("read %q in %d short reads; want %q, each message ended by a short read", r.out, r.shorts, sent)
	}

	const payloadBytes = 1 << 20
	want := pattern(payloadBytes)
	big := newShortReader(c, s, 1, 1000)
	for sent := 0; len(big.out) < len(want); {
		sent = c.peerFeed(peer, want, sent)
		if err := big.recv(len(big.out) + 1); err != nil {
			c.t.Fatalf("Read after %d of %d bytes: %v", len(big.out), len(want), err)
		}
	}
	if i := firstDiff(big.out, want); i < len(want) || len(big.out) != len(want) {
		c.t.Fatalf("payload differs at byte %d (read %d bytes, want %d)", i, len(big.out), len(want))
	}
	c.t.Logf("1 MiB through a 1000-byte buffer: %d reads, %d short", big.reads, big.shorts)

	peer, s = c.pair()
	c.register(s, 2, kernel.InterestRead)
	c.peerSend(peer, "bye")
	if err := peer.CloseWrite(); err != nil {
		c.t.Fatalf("peer CloseWrite: %v", err)
	}
	fin := newShortReader(c, s, 2, 64)
	if err := fin.recv(untilEOF); err != io.EOF || string(fin.out) != "bye" {
		c.t.Fatalf("reading by short reads: %q then %v; want %q then io.EOF (a FIN that came with the bytes needs a hint on their event, or an edge of its own)", fin.out, err, "bye")
	}

	peer, s = c.pair()
	c.register(s, 3, kernel.InterestRead)
	c.peerSend(peer, "last")
	c.h.Settle()
	if err := peer.Abort(); err != nil {
		c.t.Fatalf("peer Abort: %v", err)
	}
	rst := newShortReader(c, s, 3, 64)
	err := rst.recv(untilEOF)
	if errors.Is(err, io.EOF) || string(rst.out) != "last" {
		c.t.Fatalf("reading by short reads: %q then %v; want %q then an error (a reset that came with the bytes needs a hint on their event, or an edge of its own)", rst.out, err, "last")
	}
}
