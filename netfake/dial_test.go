package netfake_test

import (
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
)

// TestBacklogAdmitsOneMore checks the accept queue's bound as Linux keeps
// it (sk_acceptq_is_full: full above the backlog): listen(2) admits three
// connections; the fourth connect's SYN is dropped and the client waits,
// connecting, until its first retry a second later finds room, which gives
// the listener a new edge (in strict mode too: the queue was empty again).
func TestBacklogAdmitsOneMore(t *testing.T) {
	for _, m := range modes {
		t.Run(m.String(), func(t *testing.T) {
			k := newKernel(3, netfake.Config{Edge: m})
			l, _ := k.Listen(2)
			_ = k.Register(l, 9, inR)
			for i := 0; i < 3; i++ {
				c, err := k.Connect(l)
				if err != nil || c.Connecting() {
					t.Fatalf("connect %d: %v, connecting %v; want established", i, err, c.Connecting())
				}
			}
			poll(t, k)
			late, err := k.Connect(l)
			if err != nil || !late.Connecting() {
				t.Fatalf("connect to a full queue: %v, connecting %v; want in progress", err, late.Connecting())
			}
			if l.Pending() != 3 {
				t.Fatalf("pending %d, want 3", l.Pending())
			}
			for range 3 {
				if _, err := l.Accept(); err != nil {
					t.Fatal(err)
				}
			}
			expectEvent(t, k, 9, 0, "accept made room, the SYN was dropped")
			k.Advance(time.Second - time.Nanosecond)
			if !late.Connecting() {
				t.Fatal("connected before the SYN retry was due")
			}
			k.Advance(time.Nanosecond)
			if late.Connecting() || l.Pending() != 1 {
				t.Fatalf("after the retry: connecting %v, pending %d; want established and queued", late.Connecting(), l.Pending())
			}
			expectEvent(t, k, 9, rd, "the retried connect")
			if info, _ := k.Conn(late.ID()); !info.InBacklog || info.Connecting {
				t.Fatalf("conn info after the retry: %+v", info)
			}
		})
	}
}

// TestSYNRetriesThenTimeout checks the retry schedule on the virtual clock
// (Linux's: 1 s, doubling, six retries) and the failure after it: the
// client reads ETIMEDOUT once, then io.EOF, and writes fail with EPIPE.
func TestSYNRetriesThenTimeout(t *testing.T) {
	k := newKernel(4, netfake.Config{})
	var retries []time.Duration
	k.SetTracer(func(r netfake.Record) {
		if r.Kind == netfake.KindSYNRetry {
			retries = append(retries, r.Time)
		}
	})
	l, _ := k.Listen(0)
	if c, _ := k.Connect(l); c.Connecting() {
		t.Fatal("a backlog of 0 admits one connection")
	}
	c, _ := k.Connect(l)
	k.Advance(200 * time.Second)
	want := []time.Duration{1, 3, 7, 15, 31, 63, 127}
	if len(retries) != len(want) {
		t.Fatalf("SYN retries at %v, want %v seconds", retries, want)
	}
	for i, w := range want {
		if retries[i] != w*time.Second {
			t.Fatalf("SYN retry %d at %v, want %v", i+1, retries[i], w*time.Second)
		}
	}
	if c.Connecting() {
		t.Fatal("still connecting after the last retry")
	}
	if _, err := c.Read(make([]byte, 1)); !isErrno(err, syscall.ETIMEDOUT) {
		t.Fatalf("read after the connect timed out: %v, want ETIMEDOUT", err)
	}
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("second read: %v, want io.EOF", err)
	}
	if _, err := c.Write([]byte("x")); !isErrno(err, syscall.EPIPE) {
		t.Fatalf("write: %v, want EPIPE", err)
	}
	if info, _ := k.Conn(c.ID()); info.InBacklog || info.Connecting || l.Pending() != 1 {
		t.Fatalf("after the timeout: %+v, pending %d", info, l.Pending())
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestPollWakesAtSYNRetry checks that a Poll waiting with nothing ready
// returns when a SYN retry queues a connection, not at its timeout.
func TestPollWakesAtSYNRetry(t *testing.T) {
	k := newKernel(5, netfake.Config{})
	l, _ := k.Listen(0)
	_ = k.Register(l, 9, inR)
	_, _ = k.Connect(l)
	poll(t, k)
	late, _ := k.Connect(l)
	k.Advance(500 * time.Millisecond)
	if _, err := l.Accept(); err != nil {
		t.Fatal(err)
	}
	events := make([]kernel.Event, 4)
	n, err := k.Poll(events, 10*time.Second)
	if err != nil || n != 1 || events[0].Token != 9 {
		t.Fatalf("poll: %d %v %v; want the listener", n, err, events[:n])
	}
	if now := k.Now(); now != time.Second {
		t.Fatalf("poll returned at %v, want the retry at 1s", now)
	}
	if late.Connecting() {
		t.Fatal("still connecting")
	}
	n, _ = k.Poll(events, 2*time.Second)
	if n != 0 || k.Now() != 3*time.Second {
		t.Fatalf("an idle poll: %d events at %v; want none at 3s", n, k.Now())
	}
}

// TestSYNRetryToClosedListener checks that a retry finding the listener
// closed fails the connect with ECONNREFUSED (the port answers with an
// RST).
func TestSYNRetryToClosedListener(t *testing.T) {
	k := newKernel(6, netfake.Config{})
	l, _ := k.Listen(0)
	_, _ = k.Connect(l)
	c, _ := k.Connect(l)
	_ = l.Close()
	k.Advance(time.Second)
	if _, err := c.Write([]byte("x")); !isErrno(err, syscall.ECONNREFUSED) {
		t.Fatalf("write after the retry: %v, want ECONNREFUSED", err)
	}
}

// TestConnectInProgress checks a client whose connect is in progress:
// reads and writes would block, it has no room; closing or resetting it
// abandons the connect, so nothing reaches the server; shutting it down
// abandons it too, after which writes fail with EPIPE and reads with
// ENOTCONN, as on a SYN_SENT socket.
func TestConnectInProgress(t *testing.T) {
	k := newKernel(7, netfake.Config{})
	l, _ := k.Listen(0)
	_, _ = k.Connect(l)
	closer, _ := k.Connect(l)
	resetter, _ := k.Connect(l)
	shutter, _ := k.Connect(l)
	if _, err := closer.Write([]byte("x")); err != kernel.ErrWouldBlock {
		t.Fatalf("write while connecting: %v", err)
	}
	if _, err := closer.Read(make([]byte, 1)); err != kernel.ErrWouldBlock {
		t.Fatalf("read while connecting: %v", err)
	}
	if closer.Room() != 0 {
		t.Fatalf("room while connecting: %d", closer.Room())
	}
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	if err := resetter.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := shutter.ShutdownWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := shutter.Write([]byte("x")); !isErrno(err, syscall.EPIPE) {
		t.Fatalf("write after shutdown abandoned the connect: %v", err)
	}
	if _, err := shutter.Read(make([]byte, 1)); !isErrno(err, syscall.ENOTCONN) {
		t.Fatalf("read after shutdown abandoned the connect: %v", err)
	}
	if _, err := l.Accept(); err != nil {
		t.Fatal(err)
	}
	k.Advance(time.Hour)
	if _, err := l.Accept(); err != kernel.ErrWouldBlock {
		t.Fatalf("an abandoned connect reached the queue: %v", err)
	}
	for _, c := range []*netfake.Client{closer, resetter, shutter} {
		if info, _ := k.Conn(c.ID()); info.Connecting || info.InBacklog || !info.Retired {
			t.Fatalf("abandoned connect %d: %+v", c.ID(), info)
		}
	}
}
