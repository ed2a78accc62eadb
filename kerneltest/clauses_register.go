package kerneltest

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/mobsim/mobsim/kernel"
)

// Reregister re-reports writability: the initial edge is taken, then each
// Reregister with write interest (alone, then with read) must give a new
// writable edge under its new token; the old tokens are retired.
func reregisterWritable(c *checker) {
	_, s := c.pair()
	c.register(s, 1, kernel.InterestWrite)
	c.await(1, "initial writable edge", hasWrite, nil)

	c.reregister(s, 2, kernel.InterestWrite)
	c.retire(1, "Reregister moved the stream to token 2")
	c.await(2, "writable edge after Reregister (write)", hasWrite, nil)

	c.reregister(s, 3, kernel.InterestRead|kernel.InterestWrite)
	c.retire(2, "Reregister moved the stream to token 3")
	c.await(3, "writable edge after Reregister (read|write)", hasWrite, nil)
	c.quiet()
}

// Reregister re-reports readability that was there already (issue 18 item
// 1: kqueue must re-add the read filter it keeps). The readable edge for
// "held" is taken and the data left unread, so no new edge is promised by
// arrival; each Reregister with read interest must give one: keeping read
// alone, keeping it while adding write, and adding it back after write
// only. Then the same for a FIN that was taken and not read.
func reregisterKeepsRead(c *checker) {
	peer, s := c.pair()
	c.register(s, 1, kernel.InterestRead)
	c.peerSend(peer, "held")
	c.await(1, "readable edge for arriving data", hasRead, nil)

	c.reregister(s, 2, kernel.InterestRead)
	c.await(2, "readable edge after Reregister keeping read interest, data unread", hasRead, nil)
	c.reregister(s, 3, kernel.InterestRead|kernel.InterestWrite)
	c.await(3, "readable and writable after Reregister (read|write), data unread", hasBoth, nil)
	c.reregister(s, 4, kernel.InterestWrite)
	c.await(4, "writable edge after Reregister (write)", hasWrite, nil)
	c.reregister(s, 5, kernel.InterestRead)
	c.await(5, "readable edge after Reregister adding read back, data unread", hasRead, nil)
	c.expectRecv(s, 5, "held")

	peer, s = c.pair()
	c.register(s, 6, kernel.InterestRead)
	if err := peer.CloseWrite(); err != nil {
		c.t.Fatalf("peer CloseWrite: %v", err)
	}
	c.await(6, "readable event for the peer's FIN", readable, nil)
	c.reregister(s, 7, kernel.InterestRead)
	c.await(7, "readable event after Reregister keeping read interest, FIN unread", readable, nil)
	c.expectEOF(s, 7, "")
}

// Deregister: with the initial edge taken, Deregister, then data arrives;
// no event may name the stream. The data is still there to read, and a new
// registration reports it.
func deregister(c *checker) {
	peer, s := c.pair()
	c.register(s, 1, kernel.InterestRead|kernel.InterestWrite)
	c.await(1, "initial writable edge", hasWrite, nil)
	if err := c.p.Deregister(s); err != nil {
		c.t.Fatalf("Deregister: %v", err)
	}
	c.retire(1, "Deregister")
	c.peerSend(peer, "unseen")
	c.quiet()
	c.register(s, 2, kernel.InterestRead)
	c.await(2, "readable edge after registering again, data already there", hasRead, nil)
	c.expectRecv(s, 2, "unseen")
}

// Registration state belongs to the source (issue 18 item 4): kqueue keeps
// an fd→token table, and an entry left by a stream closed without
// Deregister must not make a new stream on the same number look registered.
// Every failure must wrap ENOENT (EEXIST for a double Register), as
// epoll_ctl's do.
func notRegistered(c *checker) {
	_, s := c.pair()
	expectErrno(c, "Reregister of a stream never registered", c.p.Reregister(s, 1, kernel.InterestRead), syscall.ENOENT)
	expectErrno(c, "Deregister of a stream never registered", c.p.Deregister(s), syscall.ENOENT)

	c.register(s, 2, kernel.InterestRead)
	expectErrno(c, "Register of a registered stream", c.p.Register(s, 3, kernel.InterestRead), syscall.EEXIST)
	if err := c.p.Deregister(s); err != nil {
		c.t.Fatalf("Deregister: %v", err)
	}
	c.retire(2, "Deregister")
	expectErrno(c, "Deregister after Deregister", c.p.Deregister(s), syscall.ENOENT)
	expectErrno(c, "Reregister after Deregister", c.p.Reregister(s, 4, kernel.InterestRead), syscall.ENOENT)

	// The next stream is dialled first and accepted after the close, so
	// that it gets the number the closed one freed (Unix hands out the
	// lowest free descriptor; a dial made now would take it instead).
	c.register(s, 5, kernel.InterestRead)
	peer := c.dial(c.shared)
	c.h.Settle()
	oldFD, hasFD := fdOf(s)
	if err := s.Close(); err != nil {
		c.t.Fatalf("Close: %v", err)
	}
	c.retire(5, "Close")
	s2 := c.accept(c.shared)
	if newFD, ok := fdOf(s2); hasFD && ok {
		c.t.Logf("the closed stream had descriptor %d, the new one has %d", oldFD, newFD)
	}
	expectErrno(c, "Reregister of a new stream on a closed one's number", c.p.Reregister(s2, 6, kernel.InterestRead), syscall.ENOENT)
	expectErrno(c, "Deregister of a new stream on a closed one's number", c.p.Deregister(s2), syscall.ENOENT)
	c.register(s2, 7, kernel.InterestRead)
	c.peerSend(peer, "fresh")
	c.await(7, "readable edge on the new stream", hasRead, nil)
	c.expectRecv(s2, 7, "fresh")
}

// expectErrno fails unless err wraps want.
func expectErrno(c *checker, what string, err error, want syscall.Errno) {
	c.t.Helper()
	if !errors.Is(err, want) {
		c.t.Fatalf("%s: %v; want an error wrapping %v (%s)", what, err, want, errnoName(want))
	}
}

func errnoName(e syscall.Errno) string {
	switch e {
	case syscall.ENOENT:
		return "ENOENT"
	case syscall.EEXIST:
		return "EEXIST"
	}
	return fmt.Sprintf("errno %d", int(e))
}

// Close drops pending edges: the stream is registered with a writable edge
// and a readable one pending, and closed before any Poll; neither may ever
// be reported.
func closeDropsPending(c *checker) {
	peer, s := c.pair()
	c.peerSend(peer, "pending")
	c.h.Settle()
	c.register(s, 1, kernel.InterestRead|kernel.InterestWrite)
	if err := s.Close(); err != nil {
		c.t.Fatalf("Close: %v", err)
	}
	c.retire(1, "Close")
	c.quiet()
}

// The reserved token: if Register takes it, the kernel does not reserve it
// and must report it like any token; if Register refuses it, Reregister
// must refuse it too, and no event may carry it, also after the poller's
// own wake-up, for pollers that have one.
func reservedToken(c *checker) {
	_, s := c.pair()
	if err := c.p.Register(s, kernel.ReservedToken, kernel.InterestWrite); err == nil {
		c.t.Log("the kernel does not reserve ReservedToken: Register took it")
		c.reservedTaken = true
		c.await(kernel.ReservedToken, "initial writable edge under ReservedToken", hasWrite, nil)
		return
	}
	c.register(s, 1, kernel.InterestWrite)
	if err := c.p.Reregister(s, kernel.ReservedToken, kernel.InterestWrite); err == nil {
		c.t.Fatal("Reregister took ReservedToken, which Register refused")
	}
	if w, ok := c.p.(waker); ok {
		if err := w.Wake(); err != nil {
			c.t.Fatalf("Wake: %v", err)
		}
	}
	c.await(1, "initial writable edge", hasWrite, nil)
	c.quiet()
}

// Token round trip: six streams, each registered for writing under a token
// that tests another part of the 64 bits, must each give their writable
// edge under exactly that token. Unknown tokens are tolerated (the
// contract allows spurious ones), so a mangled token shows as a missing
// one.
func tokensRoundTrip(c *checker) {
	tokens := []kernel.Token{0, 1, 1 << 31, 1 << 32, 1<<63 | 12345, kernel.ReservedToken - 1}
	for _, tok := range tokens {
		_, s := c.pair()
		c.register(s, tok, kernel.InterestWrite)
	}
	awaitTokens(c, tokens, func(int) []kernel.Event { return c.evs })
}

// awaitTokens settles and polls until every token of want has had a
// writable event, and fails after awaitRounds rounds. Each Poll fills
// batch(left), where left counts the tokens still to come.
func awaitTokens(c *checker, want []kernel.Token, batch func(left int) []kernel.Event) {
	c.t.Helper()
	seen := make([]bool, len(want))
	left := len(want)
	for range awaitRounds {
		c.h.Settle()
		evs := batch(left)
		n, err := c.p.Poll(evs, pollStep)
		for _, ev := range c.batch(evs, n, err) {
			for i, tok := range want {
				if ev.Token == tok && hasWrite(ev.Ready) && !seen[i] {
					seen[i] = true
					left--
				}
			}
		}
		if left == 0 {
			return
		}
	}
	var missing []kernel.Token
	for i, tok := range want {
		if !seen[i] {
			missing = append(missing, tok)
		}
	}
	c.t.Fatalf("no writable event within %d rounds for tokens %#x", awaitRounds, missing)
}
