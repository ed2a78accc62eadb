package kerneltest

import (
	"errors"
	"fmt"
	"io"

	"github.com/mobsim/mobsim/kernel"
)

// The initial writable edge: a fresh stream has room, so registering it for
// writing, alone or with reading, must report ReadyWrite.
func initialWritable(c *checker) {
	_, s := c.pair()
	c.register(s, 1, kernel.InterestWrite)
	c.await(1, "initial writable edge (write interest)", hasWrite, nil)

	_, s2 := c.pair()
	c.register(s2, 2, kernel.InterestRead|kernel.InterestWrite)
	c.await(2, "initial writable edge (read|write interest)", hasWrite, nil)
}

// Readiness present at registration is reported as an edge: data, a FIN and
// a reset each arrive (and settle) before the stream is registered for
// reading, and each must then give a readable event and the right Read.
func readableAtRegister(c *checker) {
	peer, s := c.pair()
	c.peerSend(peer, "early")
	c.h.Settle()
	c.register(s, 1, kernel.InterestRead)
	c.await(1, "readable edge for data there before Register", hasRead, nil)
	c.expectRecv(s, 1, "early")

	peer, s = c.pair()
	if err := peer.CloseWrite(); err != nil {
		c.t.Fatalf("peer CloseWrite: %v", err)
	}
	c.h.Settle()
	c.register(s, 2, kernel.InterestRead)
	c.await(2, "readable event for a FIN there before Register", readable, nil)
	c.expectEOF(s, 2, "")

	peer, s = c.pair()
	if err := peer.Abort(); err != nil {
		c.t.Fatalf("peer Abort: %v", err)
	}
	c.h.Settle()
	c.register(s, 3, kernel.InterestRead)
	c.await(3, "readable event for a reset there before Register", readable, nil)
	expectResetRead(c, s)
}

// expectResetRead reads s after a reset: Read must fail, with an error that
// is neither ErrWouldBlock nor io.EOF.
func expectResetRead(c *checker, s kernel.Stream) {
	c.t.Helper()
	got, err := readNow(s)
	switch {
	case errors.Is(err, kernel.ErrWouldBlock):
		c.t.Fatalf("Read after a reset: %q, %v; want an error", got, err)
	case errors.Is(err, io.EOF):
		c.t.Fatalf("Read after a reset returned io.EOF; want an error (typically ECONNRESET)")
	}
	c.t.Logf("Read after the reset: %v", err)
}

// Draining: three messages, each awaited and read to ErrWouldBlock, then a
// payload larger than any socket buffer fed as the peer's send side allows.
// Only the draining guarantee can make every byte arrive: no edge is
// promised for data that was left unread.
func drainToWouldBlock(c *checker) {
	peer, s := c.pair()
	c.register(s, 1, kernel.InterestRead)
	for _, msg := range []string{"a", "bb", "ccc"} {
		c.peerSend(peer, msg)
		c.await(1, fmt.Sprintf("readable edge for %q", msg), hasRead, nil)
		c.expectRecv(s, 1, msg)
	}

	const payloadBytes = 1 << 20
	want := pattern(payloadBytes)
	var got []byte
	sent, stalled := 0, 0
	for len(got) < len(want) {
		sent = c.peerFeed(peer, want, sent)
		c.h.Settle()
		progress := false
		for _, ev := range c.poll(pollStep) {
			if ev.Token != 1 || !ev.Readable() {
				continue
			}
			b, err := readNow(s)
			got = append(got, b...)
			progress = progress || len(b) > 0
			if !errors.Is(err, kernel.ErrWouldBlock) {
				c.t.Fatalf("Read after %d of %d bytes: %v", len(got), len(want), err)
			}
		}
		if progress {
			stalled = 0
		} else if stalled++; stalled > awaitRounds {
			c.t.Fatalf("stalled: %d of %d bytes read, %d sent; no readable edge after draining to ErrWouldBlock", len(got), len(want), sent)
		}
	}
	if i := firstDiff(got, want); i < len(want) || len(got) != len(want) {
		c.t.Fatalf("payload differs at byte %d (read %d bytes, want %d)", i, len(got), len(want))
	}
}

// Would-block: a fresh stream has nothing to read and a drained listener
// nothing to accept; both must say ErrWouldBlock and nothing else.
func wouldBlock(c *checker) {
	_, s := c.pair()
	c.register(s, 1, kernel.InterestRead|kernel.InterestWrite)
	c.await(1, "initial writable edge", hasWrite, nil)
	buf := make([]byte, 16)
	if n, err := s.Read(buf); n != 0 || !errors.Is(err, kernel.ErrWouldBlock) {
		c.t.Fatalf("Read with nothing to read = %d, %v; want 0, ErrWouldBlock", n, err)
	}
	if st, err := c.shared.Accept(); st != nil || !errors.Is(err, kernel.ErrWouldBlock) {
		c.t.Fatalf("Accept with nothing pending = %v, %v; want nil, ErrWouldBlock", st, err)
	}
}

// Writable after would-block: fill the stream until Write says
// ErrWouldBlock, then let the peer read until a writable event comes, and
// check that what Write counted is what the peer got.
func writableAfterWouldBlock(c *checker) {
	peer, s := c.pair()
	c.register(s, 1, kernel.InterestWrite)
	c.await(1, "initial writable edge", hasWrite, nil)

	sent := fill(c, s)
	var got []byte
	c.await(1, fmt.Sprintf("writable edge after ErrWouldBlock (%d bytes written)", sent), hasWrite, func() {
		if err := peerDrain(peer, &got); err != nil {
			c.t.Fatalf("peer Read: %v", err)
		}
	})
	n, err := s.Write(patternAt(sent, chunkBytes))
	if err != nil && !errors.Is(err, kernel.ErrWouldBlock) {
		c.t.Fatalf("Write after the writable edge: %v", err)
	}
	sent += n
	rest, err := c.peerRecv(peer, sent-len(got))
	got = append(got, rest...)
	if err != nil {
		c.t.Fatalf("peer Read after %d of %d bytes: %v", len(got), sent, err)
	}
	if i := firstDiff(got, patternAt(0, sent)); i < sent || len(got) != sent {
		c.t.Fatalf("the peer's bytes differ from the written ones at byte %d (got %d, written %d)", i, len(got), sent)
	}
}

// fill writes the pattern to s until Write returns ErrWouldBlock, settling
// after a short write so bytes move to the peer (which does not read), and
// returns how many bytes were written.
func fill(c *checker, s kernel.Stream) int {
	c.t.Helper()
	sent := 0
	for sent < fillBytesMax {
		n, err := s.Write(patternAt(sent, chunkBytes))
		sent += n
		switch {
		case errors.Is(err, kernel.ErrWouldBlock):
			return sent
		case err != nil:
			c.t.Fatalf("Write after %d bytes: %v", sent, err)
		case n < chunkBytes:
			c.h.Settle() // a short write: the next one may still block
		}
	}
	c.t.Fatalf("Write never returned ErrWouldBlock in %d bytes to a peer that does not read", sent)
	return 0
}

// Accept draining: three connections wait before the listener is
// registered; accepting to ErrWouldBlock after each readable edge must get
// all three, and a fourth that comes after the drain must give a new edge.
func acceptDrain(c *checker) {
	l := c.listen()
	for range 3 {
		c.dial(l)
	}
	c.h.Settle()
	c.register(l, 1, kernel.InterestRead)
	accepted := 0
	for accepted < 3 {
		c.await(1, fmt.Sprintf("readable listener (%d of 3 accepted)", accepted), hasRead, nil)
		accepted += len(acceptAll(c, l))
	}
	if accepted != 3 {
		c.t.Fatalf("accepted %d connections, 3 were dialled", accepted)
	}
	c.dial(l)
	c.await(1, "readable listener for a connection after the drain", hasRead, nil)
	if n := len(acceptAll(c, l)); n != 1 {
		c.t.Fatalf("accepted %d connections after the drain, want 1", n)
	}
}

// acceptAll accepts from l until ErrWouldBlock and returns the streams;
// the subtest's cleanup closes them.
func acceptAll(c *checker, l kernel.Listener) []kernel.Stream {
	c.t.Helper()
	var streams []kernel.Stream
	for {
		s, err := l.Accept()
		if errors.Is(err, kernel.ErrWouldBlock) {
			return streams
		}
		if err != nil {
			c.t.Fatalf("Accept: %v", err)
		}
		c.t.Cleanup(func() { s.Close() })
		streams = append(streams, s)
	}
}
