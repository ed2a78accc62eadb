package kerneltest

import (
	"errors"
	"fmt"
	"io"
	"math"
	"syscall"
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
)

// Bounds of the suite's loops. They decide how long a failing check takes to
// fail, never whether a passing kernel passes.
const (
	// pollStep is the timeout of each Poll in a settle-and-poll round.
	pollStep = 10 * time.Millisecond
	// awaitRounds bounds the rounds spent waiting for an expected event, an
	// accept or a peer's bytes (at least 10 s on a real kernel).
	awaitRounds = 1000
	// quietRounds is how many rounds a check watches for an event that must
	// not come.
	quietRounds = 5
	// batchEventsMax is the size of the suite's event array.
	batchEventsMax = 64
	// chunkBytes is the size of one write when the suite fills a buffer.
	chunkBytes = 16 << 10
	// fillBytesMax bounds how much the suite writes to fill a send buffer.
	fillBytesMax = 64 << 20
	// seenMax is how many readiness reports a failure message lists.
	seenMax = 16
	// untilEOF, as a byte count to read, reads until EOF or an error.
	untilEOF = math.MaxInt
)

// checker is one subtest's view of the kernel under test.
type checker struct {
	t      *testing.T
	h      Harness
	p      kernel.Poller
	evs    []kernel.Event
	shared kernel.Listener // opened by the first pair

	// retired maps tokens that no event may carry any more to the reason.
	retired map[kernel.Token]string
	// reservedTaken: the kernel accepted a registration of ReservedToken,
	// so it does not reserve it and events may carry it.
	reservedTaken bool
	// spurious: the harness injects spurious events, which may carry
	// retired tokens.
	spurious bool
}

func newChecker(t *testing.T, h Harness) *checker {
	return &checker{
		t:       t,
		h:       h,
		p:       h.Poller(),
		evs:     make([]kernel.Event, batchEventsMax),
		retired: map[kernel.Token]string{},
	}
}

// ---- polling ----

// poll polls once with the suite's event array.
func (c *checker) poll(timeout time.Duration) []kernel.Event {
	c.t.Helper()
	n, err := c.p.Poll(c.evs, timeout)
	return c.batch(c.evs, n, err)
}

// batch checks what must hold for every Poll result — n within the array,
// ErrInterrupted only with no events, no reserved token the suite did not
// register, no retired token — and returns the events (none after
// ErrInterrupted: the caller polls again).
func (c *checker) batch(evs []kernel.Event, n int, err error) []kernel.Event {
	c.t.Helper()
	switch {
	case errors.Is(err, kernel.ErrInterrupted):
		if n != 0 {
			c.t.Fatalf("Poll returned ErrInterrupted with n = %d; the contract says n == 0", n)
		}
		return nil
	case err != nil:
		c.t.Fatalf("Poll: %v", err)
	case n < 0 || n > len(evs):
		c.t.Fatalf("Poll returned n = %d into an array of %d events", n, len(evs))
	}
	for _, ev := range evs[:n] {
		if ev.Token == kernel.ReservedToken && !c.reservedTaken {
			c.t.Fatalf("an event (%v) carries kernel.ReservedToken, which the kernel keeps for itself: its own events must not reach the caller", ev.Ready)
		}
		if why, ok := c.retired[ev.Token]; ok && !c.spurious {
			c.t.Fatalf("event %v for token %d after %s", ev.Ready, ev.Token, why)
		}
	}
	return evs[:n]
}

// await settles and polls until the readiness reported for tok since the
// call began (merged over events and batches: kqueue reports read and write
// apart) satisfies want, and returns it. each, if not nil, runs at the start
// of every round (a peer that keeps reading, say). It fails after
// awaitRounds rounds.
func (c *checker) await(tok kernel.Token, what string, want func(kernel.Ready) bool, each func()) kernel.Ready {
	c.t.Helper()
	var got kernel.Ready
	var seen []kernel.Ready
	for range awaitRounds {
		if each != nil {
			each()
		}
		c.h.Settle()
		for _, ev := range c.poll(pollStep) {
			if ev.Token == tok {
				got |= ev.Ready
				seen = append(seen, ev.Ready)
			}
		}
		if want(got) {
			return got
		}
	}
	c.t.Fatalf("%s: not reported for token %d within %d rounds of Settle and Poll(%v); its events: %s",
		what, tok, awaitRounds, pollStep, readySeq(seen))
	return 0
}

// quiet settles and polls quietRounds rounds, so that an event for a retired
// token, if the kernel has one, shows up (poll fails on it).
func (c *checker) quiet() {
	c.t.Helper()
	for range quietRounds {
		c.h.Settle()
		c.poll(pollStep)
	}
}

// retire makes every later event for tok a failure, for why.
func (c *checker) retire(tok kernel.Token, why string) {
	c.retired[tok] = why
}

// Readiness predicates for await.
func hasRead(r kernel.Ready) bool   { return r&kernel.ReadyRead != 0 }
func hasWrite(r kernel.Ready) bool  { return r&kernel.ReadyWrite != 0 }
func hasError(r kernel.Ready) bool  { return r&kernel.ReadyError != 0 }
func hasRdHup(r kernel.Ready) bool  { return r&kernel.ReadyReadClosed != 0 }
func readable(r kernel.Ready) bool  { return kernel.Event{Ready: r}.Readable() }
func hasBoth(r kernel.Ready) bool   { return hasRead(r) && hasWrite(r) }
func errorRead(r kernel.Ready) bool { return hasError(r) && readable(r) }
func finRead(r kernel.Ready) bool   { return hasRdHup(r) && readable(r) }

// readySeq formats readiness reports for a failure message, the last
// seenMax of them.
func readySeq(seq []kernel.Ready) string {
	if len(seq) == 0 {
		return "none"
	}
	s := ""
	if len(seq) > seenMax {
		s = fmt.Sprintf("(%d earlier) ", len(seq)-seenMax)
		seq = seq[len(seq)-seenMax:]
	}
	for i, r := range seq {
		if i > 0 {
			s += " "
		}
		s += r.String()
	}
	return s
}

// ---- registration ----

func (c *checker) register(src kernel.Source, tok kernel.Token, in kernel.Interest) {
	c.t.Helper()
	if err := c.p.Register(src, tok, in); err != nil {
		c.t.Fatalf("Register(token %d, %s): %v", tok, interestString(in), err)
	}
	delete(c.retired, tok)
}

func (c *checker) reregister(src kernel.Source, tok kernel.Token, in kernel.Interest) {
	c.t.Helper()
	if err := c.p.Reregister(src, tok, in); err != nil {
		c.t.Fatalf("Reregister(token %d, %s): %v", tok, interestString(in), err)
	}
	delete(c.retired, tok)
}

func interestString(in kernel.Interest) string {
	switch in {
	case kernel.InterestRead:
		return "read"
	case kernel.InterestWrite:
		return "write"
	case kernel.InterestRead | kernel.InterestWrite:
		return "read|write"
	}
	return fmt.Sprintf("interest(%d)", in)
}

// ---- sources ----

// listen opens a listener that the subtest's cleanup closes.
func (c *checker) listen() kernel.Listener {
	c.t.Helper()
	l, err := c.h.Listen()
	if err != nil {
		c.t.Fatalf("Listen: %v", err)
	}
	c.t.Cleanup(func() { l.Close() })
	return l
}

// dial connects a peer to l; the subtest's cleanup closes it.
func (c *checker) dial(l kernel.Listener) Peer {
	c.t.Helper()
	peer, err := c.h.Dial(l)
	if err != nil {
		c.t.Fatalf("Dial: %v", err)
	}
	c.t.Cleanup(func() { peer.Close() })
	return peer
}

// accept accepts one connection from l, settling while none is pending.
func (c *checker) accept(l kernel.Listener) kernel.Stream {
	c.t.Helper()
	for range awaitRounds {
		s, err := l.Accept()
		if err == nil {
			c.t.Cleanup(func() { s.Close() })
			return s
		}
		if !errors.Is(err, kernel.ErrWouldBlock) {
			c.t.Fatalf("Accept: %v", err)
		}
		c.h.Settle()
	}
	c.t.Fatalf("Accept: no connection pending within %d rounds of Settle", awaitRounds)
	return nil
}

// pair returns a peer and the server's stream of one new connection, made
// on a listener shared by the subtest and never registered.
func (c *checker) pair() (Peer, kernel.Stream) {
	c.t.Helper()
	if c.shared == nil {
		c.shared = c.listen()
	}
	peer := c.dial(c.shared)
	return peer, c.accept(c.shared)
}

// fdOf returns the descriptor number of src if it has one (netpoll's and
// netfake's sources do), for logs about descriptor reuse.
func fdOf(src kernel.Source) (int, bool) {
	f, ok := src.(interface{ FD() int })
	if !ok {
		return 0, false
	}
	return f.FD(), true
}

// ---- bytes ----

// readNow reads r until it returns an error, and returns the bytes and that
// error (kernel.ErrWouldBlock included).
func readNow(r interface{ Read([]byte) (int, error) }) ([]byte, error) {
	var out []byte
	buf := make([]byte, chunkBytes)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out, err
		}
		if n == 0 {
			return out, errors.New("read returned 0 bytes and no error")
		}
	}
}

// recv reads s, registered with tok for reading, until it holds n bytes or
// Read stops with end (io.EOF or an error). After every ErrWouldBlock it
// awaits the next readable edge: the guarantee that draining gives.
func (c *checker) recv(s kernel.Stream, tok kernel.Token, n int) ([]byte, error) {
	c.t.Helper()
	var out []byte
	for {
		got, err := readNow(s)
		out = append(out, got...)
		if !errors.Is(err, kernel.ErrWouldBlock) {
			return out, err
		}
		if len(out) >= n {
			return out, nil
		}
		c.await(tok, fmt.Sprintf("readable edge after draining to ErrWouldBlock (%d of %d bytes read)", len(out), n), readable, nil)
	}
}

// expectRecv reads want from s (registered with tok for reading) and fails
// on anything else.
func (c *checker) expectRecv(s kernel.Stream, tok kernel.Token, want string) {
	c.t.Helper()
	got, err := c.recv(s, tok, len(want))
	if err != nil {
		c.t.Fatalf("Read after %q: %v", got, err)
	}
	if string(got) != want {
		c.t.Fatalf("read %q, want %q", got, want)
	}
}

// expectEOF reads from s (registered with tok for reading) until Read
// returns an error, and fails unless it read want and then io.EOF.
func (c *checker) expectEOF(s kernel.Stream, tok kernel.Token, want string) {
	c.t.Helper()
	got, err := c.recv(s, tok, untilEOF)
	if string(got) != want || err != io.EOF {
		c.t.Fatalf("read %q then %v; want %q then io.EOF", got, err, want)
	}
}

// write writes all of p to s, which must have room for it.
func (c *checker) write(s kernel.Stream, p string) {
	c.t.Helper()
	n, err := s.Write([]byte(p))
	if err != nil || n != len(p) {
		c.t.Fatalf("Write(%d bytes) = %d, %v; want all of it on a stream with room", len(p), n, err)
	}
}

// peerSend writes all of p from the peer, settling while its send side is
// full.
func (c *checker) peerSend(peer Peer, p string) {
	c.t.Helper()
	b := []byte(p)
	for range awaitRounds {
		n, err := peer.Write(b)
		b = b[n:]
		if len(b) == 0 {
			return
		}
		if err != nil && !errors.Is(err, kernel.ErrWouldBlock) {
			c.t.Fatalf("peer Write: %v", err)
		}
		c.h.Settle()
	}
	c.t.Fatalf("peer Write: %d bytes still unsent after %d rounds", len(b), awaitRounds)
}

// peerFeed writes want[sent:] from the peer as far as its send side takes
// it now, and returns the new count of bytes sent.
func (c *checker) peerFeed(peer Peer, want []byte, sent int) int {
	c.t.Helper()
	for sent < len(want) {
		n, err := peer.Write(want[sent:min(sent+chunkBytes, len(want))])
		sent += n
		if errors.Is(err, kernel.ErrWouldBlock) || n == 0 {
			break
		}
		if err != nil {
			c.t.Fatalf("peer Write: %v", err)
		}
	}
	return sent
}

// peerDrain reads everything the peer has now and appends it to *into. It
// returns the error that stopped it, nil for ErrWouldBlock.
func peerDrain(peer Peer, into *[]byte) error {
	got, err := readNow(peer)
	*into = append(*into, got...)
	if errors.Is(err, kernel.ErrWouldBlock) {
		return nil
	}
	return err
}

// peerRecv reads from the peer until it has n bytes, or until EOF or an
// error, settling in between, and returns the bytes and that error.
func (c *checker) peerRecv(peer Peer, n int) ([]byte, error) {
	c.t.Helper()
	var out []byte
	for range awaitRounds {
		if err := peerDrain(peer, &out); err != nil || len(out) >= n {
			return out, err
		}
		c.h.Settle()
	}
	c.t.Fatalf("peer Read: %d of %d bytes within %d rounds of Settle", len(out), n, awaitRounds)
	return nil, nil
}

// pattern returns n bytes of a stream whose period (64256 bytes) is no
// buffer size, so a lost, duplicated or reordered range shows.
func pattern(n int) []byte { return patternAt(0, n) }

// patternAt returns the pattern's bytes at offsets [off, off+n).
func patternAt(off, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		at := off + i
		p[i] = byte(at*7 + at/251)
	}
	return p
}

// firstDiff returns the offset of the first byte where a and b differ, or
// the shorter length.
func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// isBrokenPipe reports whether err is what a write to a closed or reset
// connection must return: an error wrapping EPIPE or ECONNRESET.
func isBrokenPipe(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}
