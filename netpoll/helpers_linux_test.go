package netpoll_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netpoll"
)

// waitMax bounds every wait in these tests, so that a missing event fails
// the test instead of hanging it. Loopback events arrive in microseconds.
const waitMax = 5 * time.Second

// quietFor is how long a test watches for an event that must not come. A
// stray event that arrives later is missed, so such a check can only pass
// falsely, never fail falsely.
const quietFor = 50 * time.Millisecond

func newPoller(t *testing.T) *netpoll.Poller {
	t.Helper()
	p, err := netpoll.New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func listen(t *testing.T, network, addr string) *netpoll.Listener {
	t.Helper()
	l, err := netpoll.Listen(network, addr, netpoll.ListenConfig{})
	if err != nil {
		t.Fatalf("Listen(%s, %s): %v", network, addr, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func dial(t *testing.T, l *netpoll.Listener) *netpoll.Conn {
	t.Helper()
	c, err := netpoll.DialTimeout("tcp", l.Addr().String(), waitMax)
	if err != nil {
		t.Fatalf("Dial(%v): %v", l.Addr(), err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// acceptOne accepts one connection, retrying on ErrWouldBlock (a dialled
// connection can take a moment to reach the accept queue) up to waitMax.
func acceptOne(t *testing.T, l *netpoll.Listener) *netpoll.Conn {
	t.Helper()
	deadline := time.Now().Add(waitMax)
	for {
		s, err := l.Accept()
		if err == nil {
			c := s.(*netpoll.Conn)
			t.Cleanup(func() { c.Close() })
			return c
		}
		if !errors.Is(err, kernel.ErrWouldBlock) {
			t.Fatalf("Accept: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("Accept: nothing pending after %v", waitMax)
		}
		time.Sleep(time.Millisecond)
	}
}

// pair returns a connected loopback pair: the dialling client and the
// accepted server side.
func pair(t *testing.T) (client, srv *netpoll.Conn) {
	t.Helper()
	l := listen(t, "tcp4", "127.0.0.1:0")
	client = dial(t, l)
	srv = acceptOne(t, l)
	return client, srv
}

// waitFor polls until an event for tok satisfies match, and returns every
// readiness reported for tok up to and including that event, in order (so
// tests can log what Linux produced). It fails after waitMax.
func waitFor(t *testing.T, p *netpoll.Poller, tok kernel.Token, what string, match func(kernel.Ready) bool) []kernel.Ready {
	t.Helper()
	var seen []kernel.Ready
	events := make([]kernel.Event, 64)
	deadline := time.Now().Add(waitMax)
	for time.Now().Before(deadline) {
		n, err := p.Poll(events, 100*time.Millisecond)
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		for _, ev := range events[:n] {
			checkNotReserved(t, ev)
			if ev.Token != tok {
				continue
			}
			seen = append(seen, ev.Ready)
			if match(ev.Ready) {
				return seen
			}
		}
	}
	t.Fatalf("no %s event for token %d within %v (seen %s)", what, tok, waitMax, readySeq(seen))
	return nil
}

// expectQuiet polls for quietFor and fails on any event for tok.
func expectQuiet(t *testing.T, p *netpoll.Poller, tok kernel.Token, why string) {
	t.Helper()
	events := make([]kernel.Event, 64)
	deadline := time.Now().Add(quietFor)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		n, err := p.Poll(events, left)
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		for _, ev := range events[:n] {
			checkNotReserved(t, ev)
			if ev.Token == tok {
				t.Fatalf("%s: unexpected event %s for token %d", why, readyString(ev.Ready), tok)
			}
		}
	}
}

func checkNotReserved(t *testing.T, ev kernel.Event) {
	t.Helper()
	if ev.Token == netpoll.ReservedToken {
		t.Fatalf("the wake-up token reached the caller: %+v", ev)
	}
}

func isReadable(r kernel.Ready) bool { return r&kernel.ReadyRead != 0 }
func isWritable(r kernel.Ready) bool { return r&kernel.ReadyWrite != 0 }

// drain reads c until ErrWouldBlock and returns the bytes; it fails on any
// other error, including io.EOF.
func drain(t *testing.T, c *netpoll.Conn) []byte {
	t.Helper()
	var out bytes.Buffer
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		out.Write(buf[:n])
		if errors.Is(err, kernel.ErrWouldBlock) {
			return out.Bytes()
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
	}
}

// readExactly reads n bytes from c, waiting for readable events on p
// (where c must be registered with tok and read interest).
func readExactly(t *testing.T, p *netpoll.Poller, tok kernel.Token, c *netpoll.Conn, n int) []byte {
	t.Helper()
	var out []byte
	for len(out) < n {
		got := drain(t, c)
		out = append(out, got...)
		if len(out) >= n {
			break
		}
		waitFor(t, p, tok, "readable", isReadable)
	}
	if len(out) != n {
		t.Fatalf("read %d bytes, want %d", len(out), n)
	}
	return out
}

func mustRegister(t *testing.T, p *netpoll.Poller, src kernel.Source, tok kernel.Token, in kernel.Interest) {
	t.Helper()
	if err := p.Register(src, tok, in); err != nil {
		t.Fatalf("Register(%v, %d): %v", src, tok, err)
	}
}

func mustWrite(t *testing.T, c *netpoll.Conn, p []byte) {
	t.Helper()
	n, err := c.Write(p)
	if err != nil || n != len(p) {
		t.Fatalf("Write(%d bytes) = %d, %v", len(p), n, err)
	}
}

// readySeq formats a sequence of readiness reports for logs.
func readySeq(seq []kernel.Ready) string {
	s := "["
	for i, r := range seq {
		if i > 0 {
			s += " "
		}
		s += readyString(r)
	}
	return s + "]"
}

// readyString names readiness bits for failure messages and logs.
func readyString(r kernel.Ready) string {
	names := []struct {
		bit  kernel.Ready
		name string
	}{
		{kernel.ReadyRead, "Read"},
		{kernel.ReadyWrite, "Write"},
		{kernel.ReadyReadClosed, "ReadClosed"},
		{kernel.ReadyWriteClosed, "WriteClosed"},
		{kernel.ReadyError, "Error"},
	}
	s := ""
	for _, n := range names {
		if r&n.bit != 0 {
			if s != "" {
				s += "|"
			}
			s += n.name
		}
	}
	if s == "" {
		return fmt.Sprintf("none(%#x)", uint8(r))
	}
	return s
}
