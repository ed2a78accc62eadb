package kerneltest

import (
	"errors"
	"io"
	"strings"

	"github.com/mobsim/mobsim/kernel"
)

// unackedOf returns s's UnackedCounter, or skips the subtest: the
// capability is optional.
func unackedOf(c *checker, s kernel.Stream) kernel.UnackedCounter {
	c.t.Helper()
	u, ok := s.(kernel.UnackedCounter)
	if !ok {
		c.t.Skipf("the stream (%T) does not implement kernel.UnackedCounter", s)
	}
	return u
}

// unacked reads the count and fails on an error.
func unacked(c *checker, u kernel.UnackedCounter) int {
	c.t.Helper()
	n, err := u.UnackedBytes()
	if err != nil {
		c.t.Fatalf("UnackedBytes: %v", err)
	}
	return n
}

// awaitUnackedZero settles until u reports 0, within awaitRounds.
func awaitUnackedZero(c *checker, u kernel.UnackedCounter, what string) {
	c.t.Helper()
	n := 0
	for range awaitRounds {
		if n = unacked(c, u); n == 0 {
			return
		}
		c.h.Settle()
	}
	c.t.Fatalf("%s: UnackedBytes still %d after %d rounds of Settle", what, n, awaitRounds)
}

// fillStream writes the pattern to s, which the peer does not read, until
// a Write returns ErrWouldBlock even after a Settle: the peer's receive
// buffer is full and so is s's send buffer behind it. It returns how much
// it wrote.
func fillStream(c *checker, s kernel.Stream) int {
	c.t.Helper()
	wrote, blocked := 0, false
	for wrote < fillBytesMax {
		n, err := s.Write(patternAt(wrote, chunkBytes))
		wrote += n
		switch {
		case errors.Is(err, kernel.ErrWouldBlock) && blocked && n == 0:
			return wrote
		case errors.Is(err, kernel.ErrWouldBlock):
			blocked = true
			c.h.Settle()
		case err != nil:
			c.t.Fatalf("Write after %d bytes: %v", wrote, err)
		default:
			blocked = false
		}
	}
	c.t.Fatalf("wrote %d bytes to a peer that does not read and never got ErrWouldBlock", wrote)
	return 0
}

// The count: 0 on a fresh stream; with the peer not reading and the send
// side full, more than 0 and no more than written (plus the FIN, after
// CloseWrite); 0 again once the peer has read every byte and the FIN.
func unackedBytes(c *checker) {
	peer, s := c.pair()
	u := unackedOf(c, s)
	if n := unacked(c, u); n != 0 {
		c.t.Fatalf("UnackedBytes on a fresh stream = %d, want 0", n)
	}
	wrote := fillStream(c, s)
	if n := unacked(c, u); n <= 0 || n > wrote {
		c.t.Fatalf("UnackedBytes with the peer's buffer full and the send side full behind it = %d, want 1 to %d (written)", n, wrote)
	}
	if err := s.CloseWrite(); err != nil {
		c.t.Fatalf("CloseWrite: %v", err)
	}
	if n := unacked(c, u); n <= 0 || n > wrote+1 {
		c.t.Fatalf("UnackedBytes after CloseWrite = %d, want 1 to %d (written, and the FIN)", n, wrote+1)
	}
	got, err := c.peerRecv(peer, untilEOF)
	if err != io.EOF || len(got) != wrote || firstDiff(got, pattern(wrote)) != wrote {
		c.t.Fatalf("peer read %d bytes then %v; want the %d written then io.EOF", len(got), err, wrote)
	}
	awaitUnackedZero(c, u, "after the peer read every byte and the FIN")
}

// Acknowledged bytes survive a reset: once UnackedBytes is 0 after
// CloseWrite, closing with the peer's input unread (which resets the
// connection) does not stop the peer reading every byte; then the stream
// ends (io.EOF: the FIN came first) or reports the reset.
func ackedSurvivesReset(c *checker) {
	peer, s := c.pair()
	u := unackedOf(c, s)
	c.register(s, 1, kernel.InterestRead)
	c.peerSend(peer, "input the stream never reads")
	c.await(1, "readable event for the peer's input", readable, nil)
	want := strings.Repeat("acknowledged before the reset; ", 32)
	c.write(s, want)
	if err := s.CloseWrite(); err != nil {
		c.t.Fatalf("CloseWrite: %v", err)
	}
	awaitUnackedZero(c, u, "after CloseWrite, the peer's kernel holding every byte")
	if err := s.Close(); err != nil {
		c.t.Fatalf("Close: %v", err)
	}
	c.retire(1, "Close")
	got, err := c.peerRecv(peer, untilEOF)
	if string(got) != want || err == nil {
		c.t.Fatalf("after the reset the peer read %d bytes then %v; want all %d, then io.EOF or a reset", len(got), err, len(want))
	}
	if err != io.EOF && !isBrokenPipe(err) {
		c.t.Fatalf("after every byte the peer's Read returned %v; want io.EOF or ECONNRESET", err)
	}
	c.quiet()
}

// Abort: the stream's registration goes, and the peer reads a prefix of
// what was written, then a reset: an error wrapping ECONNRESET, not io.EOF
// (a FIN would mean everything arrived).
func abort(c *checker) {
	peer, s := c.pair()
	a, ok := s.(kernel.Aborter)
	if !ok {
		c.t.Skipf("the stream (%T) does not implement kernel.Aborter", s)
	}
	c.register(s, 1, kernel.InterestRead|kernel.InterestWrite)
	wrote := fillStream(c, s)
	if err := a.Abort(); err != nil {
		c.t.Fatalf("Abort: %v", err)
	}
	c.retire(1, "Abort")
	got, err := c.peerRecv(peer, untilEOF)
	if !isBrokenPipe(err) || len(got) > wrote || firstDiff(got, pattern(len(got))) != len(got) {
		c.t.Fatalf("after Abort the peer read %d of %d bytes then %v; want a prefix, then an error wrapping ECONNRESET", len(got), wrote, err)
	}
	c.quiet()
}
