package netpoll_test

import (
	"bytes"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netpoll"
)

// batchModes are the two ways WriteBatch runs on Linux; every batch test
// runs under both.
var batchModes = []struct {
	name string
	cfg  netpoll.Config
	want netpoll.BatchPath
}{
	{"io_uring", netpoll.Config{}, netpoll.BatchIOUring},
	{"writev", netpoll.Config{NoIOUring: true}, netpoll.BatchWritev},
}

// forEachBatchMode runs f as a subtest per mode, each with its own Poller.
func forEachBatchMode(t *testing.T, f func(t *testing.T, p *netpoll.Poller)) {
	for _, m := range batchModes {
		t.Run(m.name, func(t *testing.T) {
			f(t, newBatchPoller(t, m.cfg, m.want))
		})
	}
}

// newBatchPoller makes a Poller whose WriteBatch takes path want. Where
// the kernel refuses io_uring (no io_uring, seccomp, the sysctl) the
// io_uring variant is skipped with the reason; any other reason for
// missing it is a failure.
func newBatchPoller(t testing.TB, cfg netpoll.Config, want netpoll.BatchPath) *netpoll.Poller {
	t.Helper()
	p, err := netpoll.NewConfig(cfg)
	if err != nil {
		t.Fatalf("NewConfig(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { p.Close() })
	path, reason := p.BatchPath()
	if path == want {
		return p
	}
	if want == netpoll.BatchIOUring && (errors.Is(reason, syscall.ENOSYS) || errors.Is(reason, syscall.EPERM)) {
		t.Skipf("io_uring refused on this machine: %v", reason)
	}
	t.Fatalf("BatchPath = %v (%v), want %v", path, reason, want)
	return nil
}

// batchWithin runs WriteBatch and fails the test if it has not returned
// within waitMax: a batch must never wait for room on a socket (io_uring
// does, unless told MSG_DONTWAIT).
func batchWithin(t testing.TB, p *netpoll.Poller, ws []kernel.BatchWrite) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.WriteBatch(ws)
	}()
	select {
	case <-done:
	case <-time.After(waitMax):
		t.Fatalf("WriteBatch of %d writes still blocked after %v", len(ws), waitMax)
	}
}

// write1 is a batch write of one buffer.
func write1(s kernel.Stream, b []byte) kernel.BatchWrite {
	return kernel.BatchWrite{Stream: s, Bufs: [kernel.BatchBufsMax][]byte{b}}
}

// outcome classifies a write's result as a test compares them: what a
// sequence of Writev calls and a batch must agree on.
func outcome(n, want int, err error) string {
	switch {
	case err == nil && n == want:
		return "full"
	case err == nil && n > 0 && n < want:
		return "short"
	case err == nil:
		return fmt.Sprintf("n=%d of %d", n, want)
	case n != 0:
		return fmt.Sprintf("n=%d with %v", n, err)
	case errors.Is(err, kernel.ErrWouldBlock):
		return "would-block"
	case errors.Is(err, syscall.ECONNRESET):
		return "ECONNRESET"
	case errors.Is(err, syscall.EPIPE):
		return "EPIPE"
	}
	return err.Error()
}

// fill writes to c until Write would block: the send path is then full, as
// long as the peer does not read.
func fill(t testing.TB, c *netpoll.Conn) int {
	t.Helper()
	chunk := bytes.Repeat([]byte("f"), 16<<10)
	written := 0
	for {
		n, err := c.Write(chunk)
		written += n
		if errors.Is(err, kernel.ErrWouldBlock) {
			return written
		}
		if err != nil {
			t.Fatalf("fill: Write: %v", err)
		}
		if written > 64<<20 {
			t.Fatal("fill: 64 MiB written without filling the send path")
		}
	}
}

// smallBuffers shrinks a pair's buffers (sender's SO_SNDBUF, receiver's
// SO_RCVBUF) so that a few KiB fill the send path.
func smallBuffers(t testing.TB, sender, receiver *netpoll.Conn) {
	t.Helper()
	if err := sender.SetBuffers(0, 4096); err != nil {
		t.Fatalf("SetBuffers: %v", err)
	}
	if err := receiver.SetBuffers(4096, 0); err != nil {
		t.Fatalf("SetBuffers: %v", err)
	}
}

// notAConn is a kernel.Stream of no kernel.
type notAConn struct{}

func (notAConn) Read([]byte) (int, error)  { return 0, kernel.ErrWouldBlock }
func (notAConn) Write([]byte) (int, error) { return 0, kernel.ErrWouldBlock }
func (notAConn) CloseWrite() error         { return nil }
func (notAConn) Close() error              { return nil }

// drainUntilWritable reads the peer of a full send path until p reports
// tok writable (the writable guarantee), and returns the bytes it read.
// written is for the failure message.
func drainUntilWritable(t *testing.T, p *netpoll.Poller, tok kernel.Token, peer *netpoll.Conn, written int) int {
	t.Helper()
	received := 0
	events := make([]kernel.Event, 16)
	deadline := time.Now().Add(waitMax)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("no writable event after the peer drained %d of %d bytes", received, written)
		}
		received += len(drain(t, peer))
		n, err := p.Poll(events, 10*time.Millisecond)
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		for _, ev := range events[:n] {
			if ev.Token == tok && isWritable(ev.Ready) {
				return received
			}
		}
	}
}
