package netpoll_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netpoll"
)

// The initial writable edge is guaranteed by the seam: register a fresh,
// empty connection with write interest and expect ReadyWrite.
func TestRegisterWithWriteInterestGivesWritableEdge(t *testing.T) {
	p := newPoller(t)
	_, srv := pair(t)
	mustRegister(t, p, srv, 7, kernel.InterestRead|kernel.InterestWrite)
	waitFor(t, p, 7, "writable", isWritable)
}

// Reregistering with write interest must re-arm the writable edge: consume
// the first edge, check that it does not repeat, then Reregister and expect
// a second one.
func TestReregisterRearmsWritableEdge(t *testing.T) {
	p := newPoller(t)
	_, srv := pair(t)
	mustRegister(t, p, srv, 7, kernel.InterestWrite)
	waitFor(t, p, 7, "writable", isWritable)
	expectQuiet(t, p, 7, "edge-triggered writable must not repeat")
	if err := p.Reregister(srv, 8, kernel.InterestRead|kernel.InterestWrite); err != nil {
		t.Fatalf("Reregister: %v", err)
	}
	waitFor(t, p, 8, "writable after Reregister", isWritable)
}

// A readable edge follows the arrival of data: with read interest only and
// no data nothing is reported; after the peer writes, ReadyRead arrives and
// Read returns the bytes.
func TestArrivingDataGivesReadableEdge(t *testing.T) {
	p := newPoller(t)
	client, srv := pair(t)
	mustRegister(t, p, srv, 1, kernel.InterestRead)
	expectQuiet(t, p, 1, "no data yet")
	mustWrite(t, client, []byte("ping"))
	waitFor(t, p, 1, "readable", isReadable)
	if got := drain(t, srv); string(got) != "ping" {
		t.Fatalf("read %q, want %q", got, "ping")
	}
}

// Edge-triggered means no repeat: after a readable event that the caller
// does not act on, polling again reports nothing for that token while no
// new data arrives, although the data is still there to read.
func TestNoNewReadableEdgeWithoutNewData(t *testing.T) {
	p := newPoller(t)
	client, srv := pair(t)
	mustRegister(t, p, srv, 1, kernel.InterestRead)
	mustWrite(t, client, []byte("once"))
	waitFor(t, p, 1, "readable", isReadable)
	expectQuiet(t, p, 1, "data unread but nothing new")
	if got := drain(t, srv); string(got) != "once" {
		t.Fatalf("read %q, want %q", got, "once")
	}
}

// The seam's draining rule: after reading to ErrWouldBlock, the next
// arrival gives a new readable edge. Checked over several rounds.
func TestDrainThenNewDataGivesNewEdge(t *testing.T) {
	p := newPoller(t)
	client, srv := pair(t)
	mustRegister(t, p, srv, 1, kernel.InterestRead)
	for round, msg := range []string{"a", "bb", "ccc"} {
		mustWrite(t, client, []byte(msg))
		waitFor(t, p, 1, "readable", isReadable)
		if got := drain(t, srv); string(got) != msg {
			t.Fatalf("round %d: read %q, want %q", round, got, msg)
		}
		expectQuiet(t, p, 1, "drained")
	}
}

// Deregister stops events: data that arrives after it produces none.
func TestDeregisterStopsEvents(t *testing.T) {
	p := newPoller(t)
	client, srv := pair(t)
	mustRegister(t, p, srv, 1, kernel.InterestRead)
	if err := p.Deregister(srv); err != nil {
		t.Fatalf("Deregister: %v", err)
	}
	mustWrite(t, client, []byte("unseen"))
	expectQuiet(t, p, 1, "deregistered")
}

// Tokens come back exactly as registered, including values that use the
// top bit and both halves of the epoll data word. Each connection is
// registered for write, so each yields one initial writable edge.
func TestTokensRoundTrip(t *testing.T) {
	p := newPoller(t)
	tokens := []kernel.Token{0, 1, 1 << 31, 1 << 32, 1<<63 | 12345, netpoll.ReservedToken - 1}
	want := map[kernel.Token]bool{}
	for _, tok := range tokens {
		_, srv := pair(t)
		mustRegister(t, p, srv, tok, kernel.InterestWrite)
		want[tok] = true
	}
	events := make([]kernel.Event, 64)
	deadline := time.Now().Add(waitMax)
	for len(want) > 0 && time.Now().Before(deadline) {
		n, err := p.Poll(events, 100*time.Millisecond)
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		for _, ev := range events[:n] {
			if _, ok := want[ev.Token]; !ok {
				t.Fatalf("event for token %#x, which was never registered (or came twice)", uint64(ev.Token))
			}
			delete(want, ev.Token)
		}
	}
	if len(want) > 0 {
		t.Fatalf("tokens never seen: %v", want)
	}
}

// ReservedToken tags the wake-up fd, so registering it must fail.
func TestReservedTokenIsRejected(t *testing.T) {
	p := newPoller(t)
	_, srv := pair(t)
	if err := p.Register(srv, netpoll.ReservedToken, kernel.InterestRead); !errors.Is(err, netpoll.ErrReservedToken) {
		t.Fatalf("Register(ReservedToken) = %v, want ErrReservedToken", err)
	}
	mustRegister(t, p, srv, 1, kernel.InterestRead)
	if err := p.Reregister(srv, netpoll.ReservedToken, kernel.InterestRead); !errors.Is(err, netpoll.ErrReservedToken) {
		t.Fatalf("Reregister(ReservedToken) = %v, want ErrReservedToken", err)
	}
}

// Registering the same socket twice is an error on epoll (EEXIST).
func TestDoubleRegisterFails(t *testing.T) {
	p := newPoller(t)
	_, srv := pair(t)
	mustRegister(t, p, srv, 1, kernel.InterestRead)
	if err := p.Register(srv, 2, kernel.InterestRead); err == nil {
		t.Fatal("second Register succeeded")
	}
}

// pollResult carries a Poll's outcome out of a goroutine.
type pollResult struct {
	n      int
	err    error
	events []kernel.Event
}

// pollInBackground runs Poll(-1) on its own goroutine; the result arrives
// on the returned channel.
func pollInBackground(p *netpoll.Poller) <-chan pollResult {
	done := make(chan pollResult, 1)
	go func() {
		events := make([]kernel.Event, 8)
		n, err := p.Poll(events, -1)
		done <- pollResult{n, err, events[:max(n, 0)]}
	}()
	return done
}

func awaitPoll(t *testing.T, done <-chan pollResult, what string) pollResult {
	t.Helper()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("%s: Poll: %v", what, r.err)
		}
		for _, ev := range r.events {
			checkNotReserved(t, ev)
		}
		return r
	case <-time.After(waitMax):
		t.Fatalf("%s: Poll(-1) still blocked after %v", what, waitMax)
		return pollResult{}
	}
}

// Wake from another goroutine must unblock a Poll(-1), and the wake-up
// itself must not appear as an event. The sleep only makes it likely that
// Poll is already blocked; the test holds either way.
func TestWakeUnblocksBlockedPoll(t *testing.T) {
	p := newPoller(t)
	done := pollInBackground(p)
	time.Sleep(10 * time.Millisecond)
	if err := p.Wake(); err != nil {
		t.Fatalf("Wake: %v", err)
	}
	if r := awaitPoll(t, done, "woken"); r.n != 0 {
		t.Fatalf("woken Poll returned %d events, want 0: %+v", r.n, r.events)
	}
}

// A Wake before Poll makes the next Poll(-1) return; several Wakes
// coalesce, and once drained they no longer wake anything.
func TestWakeBeforePollAndDrain(t *testing.T) {
	p := newPoller(t)
	for range 3 {
		if err := p.Wake(); err != nil {
			t.Fatalf("Wake: %v", err)
		}
	}
	awaitPoll(t, pollInBackground(p), "pre-woken")
	events := make([]kernel.Event, 8)
	n, err := p.Poll(events, quietFor)
	if err != nil || n != 0 {
		t.Fatalf("Poll after drain = %d, %v; want 0, nil", n, err)
	}
}

// Wake is safe from many goroutines while the owner polls (run with
// -race), and a wake-up never hides a real event: a readable connection
// is reported alongside.
func TestConcurrentWakesWithRealEvents(t *testing.T) {
	p := newPoller(t)
	client, srv := pair(t)
	mustRegister(t, p, srv, 3, kernel.InterestRead)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				if err := p.Wake(); err != nil {
					t.Errorf("Wake: %v", err)
					return
				}
			}
		})
	}
	mustWrite(t, client, []byte("x"))
	waitFor(t, p, 3, "readable among wake-ups", isReadable)
	wg.Wait()
}

// Wake after Close reports an error instead of writing to a descriptor
// number that may have been reused.
func TestWakeAfterCloseFails(t *testing.T) {
	p, err := netpoll.New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := p.Wake(); err == nil {
		t.Fatal("Wake after Close succeeded")
	}
	if err := p.Close(); err == nil {
		t.Fatal("second Close succeeded")
	}
}

// Poll with no room for events is an error, not a silent zero.
func TestPollEmptyEventsFails(t *testing.T) {
	p := newPoller(t)
	if _, err := p.Poll(nil, 0); err == nil {
		t.Fatal("Poll(nil) succeeded")
	}
}

// Poll never returns more events than the slice holds, and the rest come
// in the next Poll: five writable connections polled two at a time.
func TestPollRespectsBatchSize(t *testing.T) {
	p := newPoller(t)
	for i := range 5 {
		_, srv := pair(t)
		mustRegister(t, p, srv, kernel.Token(100+i), kernel.InterestWrite)
	}
	seen := map[kernel.Token]bool{}
	events := make([]kernel.Event, 2)
	deadline := time.Now().Add(waitMax)
	for len(seen) < 5 && time.Now().Before(deadline) {
		n, err := p.Poll(events, 100*time.Millisecond)
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		if n > len(events) {
			t.Fatalf("Poll returned %d events into a slice of %d", n, len(events))
		}
		for _, ev := range events[:n] {
			seen[ev.Token] = true
		}
	}
	if len(seen) != 5 {
		t.Fatalf("saw %d of 5 tokens", len(seen))
	}
}

// Now is monotonic and starts near zero.
func TestNowIsMonotonic(t *testing.T) {
	p := newPoller(t)
	a := p.Now()
	b := p.Now()
	if a < 0 || b < a {
		t.Fatalf("Now went %v then %v", a, b)
	}
}
