package netfake_test

import (
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
)

// Work makes the server's syscalls take time and lets the network move
// between them. Method: count the clock across known calls with a fixed
// cost, then show bytes a client wrote arriving between two server calls
// with no Step, a SYN retry completing during a call's cost, and that a
// zero Work draws nothing (the trace is the same as with no Work at all).

func TestWorkCostsTime(t *testing.T) {
	k := newKernel(1, netfake.Config{Work: netfake.Work{SyscallCost: 3 * time.Microsecond, ByteCost: time.Nanosecond}})
	_, c, s := pair(t, k) // listen (setup, free), accept: one call
	if got, want := k.Now(), 3*time.Microsecond; got != want {
		t.Fatalf("after one accept the clock is %v, want %v", got, want)
	}
	if _, err := c.Write(make([]byte, 100)); err != nil { // a client's work is not the server's
		t.Fatal(err)
	}
	k.Flush()
	before := k.Now()
	buf := make([]byte, 64)
	n, err := s.Read(buf)
	if err != nil || n != 64 {
		t.Fatalf("read: %d, %v", n, err)
	}
	if got, want := k.Now()-before, 3*time.Microsecond+64*time.Nanosecond; got != want {
		t.Fatalf("a 64-byte read cost %v, want %v", got, want)
	}
	if _, err := s.Read(buf); err != nil {
		t.Fatal(err)
	}
	before = k.Now()
	if _, err := s.Read(buf); err != kernel.ErrWouldBlock {
		t.Fatalf("read of an empty socket: %v", err)
	}
	if got, want := k.Now()-before, 3*time.Microsecond; got != want {
		t.Fatalf("a read that would block cost %v, want %v", got, want)
	}
}

func TestWorkJitterBounded(t *testing.T) {
	cost, jitter := 2*time.Microsecond, 5*time.Microsecond
	k := newKernel(2, netfake.Config{Work: netfake.Work{SyscallCost: cost, Jitter: jitter}})
	_, _, s := pair(t, k)
	seen := map[time.Duration]bool{}
	buf := make([]byte, 8)
	for range 200 {
		before := k.Now()
		_, _ = s.Read(buf)
		d := k.Now() - before
		if d < cost || d > cost+jitter {
			t.Fatalf("a call cost %v, outside [%v, %v]", d, cost, cost+jitter)
		}
		seen[d] = true
	}
	if len(seen) < 3 {
		t.Fatalf("jitter drew only %d distinct costs in 200 calls", len(seen))
	}
}

func TestWorkTransmitsBetweenCalls(t *testing.T) {
	k := newKernel(3, netfake.Config{Work: netfake.Work{Transmit: 1}})
	_, c, s := pair(t, k)
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	// Nothing has arrived: the first read would block, and the network
	// moves after it, with no Step from the world.
	var got []byte
	for i := 0; i < 20 && len(got) < 5; i++ {
		n, err := s.Read(buf)
		if err != nil && err != kernel.ErrWouldBlock {
			t.Fatal(err)
		}
		if i == 0 && n > 0 {
			t.Fatalf("the first read got %q before any transmission", buf[:n])
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "hello" {
		t.Fatalf("got %q between server calls, want %q", got, "hello")
	}
}

func TestWorkRunsSYNRetries(t *testing.T) {
	k := newKernel(4, netfake.Config{SYNRetry: 10 * time.Microsecond, Work: netfake.Work{SyscallCost: 4 * time.Microsecond}})
	l, err := k.Listen(0) // admits one
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Connect(l); err != nil {
		t.Fatal(err)
	}
	late, err := k.Connect(l) // dropped: retried after 10µs
	if err != nil || !late.Connecting() {
		t.Fatalf("second connect: %v, connecting %v", err, late.Connecting())
	}
	if _, err := l.Accept(); err != nil { // 4µs
		t.Fatal(err)
	}
	for i := 0; i < 3 && late.Connecting(); i++ {
		_, _ = l.Accept() // would block until the retry lands, 4µs each
	}
	if late.Connecting() {
		t.Fatalf("the SYN retry due at 10µs has not run at %v", k.Now())
	}
}

func TestWorkOffDrawsNothing(t *testing.T) {
	run := func(cfg netfake.Config) uint64 {
		k := newKernel(5, cfg)
		_, c, s := pair(t, k)
		buf := make([]byte, 3)
		for range 50 {
			_, _ = c.Write([]byte("abcdefg"))
			k.Step()
			_, _ = s.Read(buf)
			_, _ = s.Write(buf)
		}
		return k.Hash()
	}
	if a, b := run(netfake.Config{}), run(netfake.Config{Work: netfake.Work{Transmit: 0}}); a != b {
		t.Fatalf("a zero Work changed the trace: %x, %x", a, b)
	}
	if a, b := run(netfake.Config{}), run(netfake.Config{Work: netfake.Work{SyscallCost: time.Microsecond}}); a == b {
		t.Fatal("a syscall cost left the trace's times unchanged")
	}
}
