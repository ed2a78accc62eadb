package kerneltest

import (
	"errors"
	"io"

	"github.com/mobsim/mobsim/kernel"
)

// A FIN after data: the event must be readable and carry ReadyReadClosed
// (merged over the events for the stream: the data's edge and the FIN's may
// come apart), and Read must give the data before io.EOF.
func peerFIN(c *checker) {
	peer, s := c.pair()
	c.register(s, 1, kernel.InterestRead)
	c.peerSend(peer, "last words")
	if err := peer.CloseWrite(); err != nil {
		c.t.Fatalf("peer CloseWrite: %v", err)
	}
	c.await(1, "readable event with ReadyReadClosed after the peer's FIN", finRead, nil)
	c.expectEOF(s, 1, "last words")
}

// A reset: the event must be readable and carry ReadyError; Read must fail,
// and then Write, with EPIPE or ECONNRESET (a SIGPIPE would kill the test).
func peerReset(c *checker) {
	peer, s := c.pair()
	c.register(s, 1, kernel.InterestRead)
	if err := peer.Abort(); err != nil {
		c.t.Fatalf("peer Abort: %v", err)
	}
	c.await(1, "readable event with ReadyError after the peer's reset", errorRead, nil)
	expectResetRead(c, s)
	expectBrokenWrite(c, s)
}

// expectBrokenWrite fails unless a Write to s, whose peer reset it, fails
// with EPIPE or ECONNRESET.
func expectBrokenWrite(c *checker, s kernel.Stream) {
	c.t.Helper()
	if n, err := s.Write([]byte("x")); !isBrokenPipe(err) {
		c.t.Fatalf("Write after a reset = %d, %v; want an error wrapping EPIPE or ECONNRESET", n, err)
	}
}

// A reset seen through write interest only (issue 18 item 3: kqueue's write
// filter reports it as EV_EOF with the socket error in fflags, which must
// become ReadyError as on the read filter). The initial writable edge is
// taken first, so the error must come with a new event.
func resetHintWriteInterest(c *checker) {
	peer, s := c.pair()
	c.register(s, 1, kernel.InterestWrite)
	c.await(1, "initial writable edge", hasWrite, nil)
	if err := peer.Abort(); err != nil {
		c.t.Fatalf("peer Abort: %v", err)
	}
	c.await(1, "event with ReadyError after the peer's reset, write interest only", hasError, nil)
	expectBrokenWrite(c, s)
}

// A write to a peer that closed: the first may succeed (the peer's kernel
// answers it with an RST), but one must fail with EPIPE or ECONNRESET
// within a bounded number of rounds, and none may raise SIGPIPE.
func writeAfterPeerClose(c *checker) {
	peer, s := c.pair()
	if err := peer.Close(); err != nil {
		c.t.Fatalf("peer Close: %v", err)
	}
	c.h.Settle()
	for range awaitRounds {
		n, err := s.Write([]byte("anyone there?"))
		switch {
		case err == nil, errors.Is(err, kernel.ErrWouldBlock):
			c.h.Settle()
		case isBrokenPipe(err):
			return
		default:
			c.t.Fatalf("Write to a closed peer = %d, %v; want an error wrapping EPIPE or ECONNRESET", n, err)
		}
	}
	c.t.Fatalf("Write to a closed peer never failed within %d rounds", awaitRounds)
}

// CloseWrite: the peer reads the bytes and then io.EOF; the peer can still
// send, and the stream still reads it.
func closeWrite(c *checker) {
	peer, s := c.pair()
	c.register(s, 1, kernel.InterestRead)
	c.write(s, "bye")
	if err := s.CloseWrite(); err != nil {
		c.t.Fatalf("CloseWrite: %v", err)
	}
	got, err := c.peerRecv(peer, untilEOF)
	if string(got) != "bye" || err != io.EOF {
		c.t.Fatalf("peer read %q then %v; want %q then io.EOF", got, err, "bye")
	}
	c.peerSend(peer, "still here")
	c.expectRecv(s, 1, "still here")
}

// Writev on a fresh stream: the bytes it counts must reach the peer in the
// buffers' order. Streams that do not implement VectorWriter skip this.
func writev(c *checker) {
	peer, s := c.pair()
	vw, ok := s.(kernel.VectorWriter)
	if !ok {
		c.t.Skipf("the stream (%T) does not implement kernel.VectorWriter", s)
	}
	bufs := [][]byte{[]byte("one "), []byte("two "), []byte("three")}
	const all = "one two three"
	n, err := vw.Writev(bufs)
	if err != nil || n <= 0 || n > len(all) {
		c.t.Fatalf("Writev on a fresh stream = %d, %v; want 1 to %d bytes and no error", n, err, len(all))
	}
	got, err := c.peerRecv(peer, n)
	if err != nil || string(got) != all[:n] {
		c.t.Fatalf("peer read %q, %v; want %q", got, err, all[:n])
	}
}
