package kerneltest

import (
	"errors"
	"io"
	"time"

	"github.com/mobsim/mobsim/kernel"
)

// pollHangMax is how long the PollTimeout subtest lets one Poll run before
// it counts as hung. Only a Poll that ignores its timeout gets near it.
const pollHangMax = 10 * time.Second

// pollTimeoutStep is the positive timeout the PollTimeout subtest polls
// with when nothing is ready.
const pollTimeoutStep = 20 * time.Millisecond

// Poll's timeout: with nothing registered, Poll(0) and Poll(20ms) must end
// with no events, the kernel's clock having moved by no more than the
// timeout and a generous slack; with an edge pending, Poll(-1) must return
// it. Each Poll runs on its own goroutine so that a hang fails the subtest
// instead of the test binary's deadline.
func pollTimeout(c *checker) {
	for _, timeout := range []time.Duration{0, pollTimeoutStep} {
		before := c.p.Now()
		n, err := pollWithin(c, timeout)
		after := c.p.Now()
		if n != 0 {
			c.t.Fatalf("Poll(%v) with nothing registered returned %d events: %v", timeout, n, c.evs[:n])
		}
		if err != nil && !errors.Is(err, kernel.ErrInterrupted) {
			c.t.Fatalf("Poll(%v): %v", timeout, err)
		}
		if after < before {
			c.t.Fatalf("Now went back across Poll(%v): %v then %v", timeout, before, after)
		}
		if waited := after - before; waited > timeout+pollHangMax {
			c.t.Fatalf("Poll(%v) took %v by the kernel's clock", timeout, waited)
		}
	}

	_, s := c.pair()
	c.register(s, 1, kernel.InterestWrite)
	c.h.Settle()
	for range awaitRounds {
		n, err := pollWithin(c, -1)
		for _, ev := range c.batch(c.evs, n, err) {
			if ev.Token == 1 && hasWrite(ev.Ready) {
				return
			}
		}
	}
	c.t.Fatalf("Poll(-1) never returned the pending writable edge in %d calls", awaitRounds)
}

// pollWithin runs one Poll on its own goroutine and fails if it has not
// returned within timeout (when positive) and pollHangMax.
func pollWithin(c *checker, timeout time.Duration) (int, error) {
	c.t.Helper()
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := c.p.Poll(c.evs, timeout)
		done <- result{n, err}
	}()
	limit := pollHangMax + max(timeout, 0)
	select {
	case r := <-done:
		return r.n, r.err
	case <-time.After(limit):
		c.t.Fatalf("Poll(%v) had not returned after %v", timeout, limit)
		return 0, nil
	}
}

// Batch size: five streams each have their initial writable edge pending;
// polled one event at a time until two are left and then two at a time, no
// Poll may return more (batch checks it), and every token must come.
func pollBatchSize(c *checker) {
	var tokens []kernel.Token
	for i := range 5 {
		tok := kernel.Token(10 + i)
		_, s := c.pair()
		c.register(s, tok, kernel.InterestWrite)
		tokens = append(tokens, tok)
	}
	one, two := make([]kernel.Event, 1), make([]kernel.Event, 2)
	awaitTokens(c, tokens, func(left int) []kernel.Event {
		if left > 2 {
			return one
		}
		return two
	})
}

// Interrupts: with the harness interrupting, every Poll that says
// ErrInterrupted must have no events (batch checks that) and at least one
// must say it; then, with interrupts off, the writable edge that was
// pending throughout must still come.
func interrupted(c *checker) {
	in, ok := c.h.(Interrupter)
	if !ok {
		c.t.Skip("the harness cannot interrupt Poll (no Interrupter); every Poll of the suite still checks that ErrInterrupted comes with n == 0")
	}
	_, s := c.pair()
	c.register(s, 1, kernel.InterestWrite)
	c.h.Settle()
	in.SetInterrupts(true)
	got := 0
	for range 8 {
		n, err := c.p.Poll(c.evs, 0)
		c.batch(c.evs, n, err)
		if errors.Is(err, kernel.ErrInterrupted) {
			got++
		} else if n > 0 {
			break // the edge came: it cannot be checked for loss, so stop
		}
	}
	in.SetInterrupts(false)
	if got == 0 {
		c.t.Fatal("SetInterrupts(true) made no Poll return ErrInterrupted")
	}
	c.t.Logf("%d Polls interrupted", got)
	c.await(1, "initial writable edge after interrupted Polls", hasWrite, nil)
}

// Spurious events: with the harness injecting them, a connection, a byte
// stream over it and a second connection must still all arrive when the
// suite reacts to every event for its tokens by accepting or reading until
// ErrWouldBlock, ignoring the rest. Accepts and reads that a spurious event
// prompts must find ErrWouldBlock, never an error.
func spuriousEvents(c *checker) {
	inj, ok := c.h.(SpuriousInjector)
	if !ok {
		c.t.Skip("the harness cannot inject spurious events (no SpuriousInjector); every subtest still ignores events for tokens it did not register")
	}
	inj.SetSpurious(true)
	c.spurious = true
	defer inj.SetSpurious(false)

	l := c.listen()
	c.register(l, 1, kernel.InterestRead)
	peer := c.dial(l)
	var streams []kernel.Stream
	want := pattern(3 * chunkBytes)
	var got []byte
	sent, eof := 0, false
	for round := 0; !eof || len(streams) < 2; round++ {
		if round > awaitRounds {
			c.t.Fatalf("stalled among spurious events: %d of 2 connections accepted, %d of %d bytes read", len(streams), len(got), len(want))
		}
		if len(streams) > 0 && sent < len(want) {
			sent += spuriousFeed(c, peer, want, sent)
			if sent == len(want) {
				c.dial(l) // the second connection comes once the first is in
			}
		}
		c.h.Settle()
		for _, ev := range c.poll(pollStep) {
			switch {
			case ev.Token == 1:
				streams = acceptSpurious(c, l, streams)
			case ev.Token == 2 && !eof:
				b, err := readNow(streams[0])
				got = append(got, b...)
				switch {
				case err == io.EOF:
					eof = true
				case !errors.Is(err, kernel.ErrWouldBlock):
					c.t.Fatalf("Read after %d bytes: %v", len(got), err)
				}
			}
		}
	}
	if i := firstDiff(got, want); i < len(want) || len(got) != len(want) {
		c.t.Fatalf("stream differs at byte %d among spurious events (read %d, want %d)", i, len(got), len(want))
	}
}

// spuriousFeed writes the next piece of want from the peer, and its FIN
// after the last, and returns how many bytes it wrote.
func spuriousFeed(c *checker, peer Peer, want []byte, sent int) int {
	c.t.Helper()
	n, err := peer.Write(want[sent:min(sent+chunkBytes/4, len(want))])
	if err != nil && !errors.Is(err, kernel.ErrWouldBlock) {
		c.t.Fatalf("peer Write: %v", err)
	}
	if sent+n == len(want) {
		if err := peer.CloseWrite(); err != nil {
			c.t.Fatalf("peer CloseWrite: %v", err)
		}
	}
	return n
}

// acceptSpurious accepts from l until ErrWouldBlock, registering the first
// stream with token 2, and returns the streams so far. Token 2 is
// registered once the stream exists, so events for it before then are
// spurious ones for a token never registered (the suite ignores them).
func acceptSpurious(c *checker, l kernel.Listener, streams []kernel.Stream) []kernel.Stream {
	c.t.Helper()
	first := len(streams) == 0
	streams = append(streams, acceptAll(c, l)...)
	if len(streams) > 2 {
		c.t.Fatalf("accepted %d connections, 2 were dialled", len(streams))
	}
	if first && len(streams) > 0 {
		c.register(streams[0], 2, kernel.InterestRead)
	}
	return streams
}
