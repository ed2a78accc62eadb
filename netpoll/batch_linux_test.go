package netpoll_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netpoll"
)

// batchCase is one write of the scenario below and the outcome it must
// have.
type batchCase struct {
	what string
	w    kernel.BatchWrite
	want string
}

// scenario builds connections in every state a fan-out meets and one write
// to each: a write with no bytes (first, so that a result reported to the
// wrong write shows), a fresh connection (several buffers, an empty one
// among them; then a second write to it), a send path too small for the
// write (a short write), a full send path (would-block), a peer that reset
// (the first write reports ECONNRESET, the next EPIPE, as sequential writes
// do); the test adds a stream of no kernel. p is used to wait for
// the reset to arrive; tok0 keeps the tokens of two scenarios apart.
func scenario(t *testing.T, p *netpoll.Poller, tok0 kernel.Token) (cases []batchCase, fresh *netpoll.Conn) {
	t.Helper()
	freshPeer, freshSrv := pair(t)
	shortPeer, shortSrv := pair(t)
	smallBuffers(t, shortSrv, shortPeer)
	fullPeer, fullSrv := pair(t)
	smallBuffers(t, fullSrv, fullPeer)
	fill(t, fullSrv)
	resetPeer, resetSrv := pair(t)
	mustRegister(t, p, resetSrv, tok0, kernel.InterestRead)
	if err := resetPeer.Abort(); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	waitFor(t, p, tok0, "reset", func(r kernel.Ready) bool { return r&(kernel.ReadyError|kernel.ReadyReadClosed) != 0 })
	_, emptySrv := pair(t)

	return []batchCase{
		{"empty", kernel.BatchWrite{Stream: emptySrv}, "full"},
		{"fresh", kernel.BatchWrite{Stream: freshSrv, Bufs: [kernel.BatchBufsMax][]byte{[]byte("hello"), nil, []byte(", "), []byte("world")}}, "full"},
		{"short", write1(shortSrv, bytes.Repeat([]byte("s"), 1<<20)), "short"},
		{"full", write1(fullSrv, []byte("no room")), "would-block"},
		{"reset", write1(resetSrv, []byte("a")), "ECONNRESET"},
		{"reset again", write1(resetSrv, []byte("b")), "EPIPE"},
		{"fresh again", write1(freshSrv, []byte("!")), "full"},
	}, freshPeer
}

// A batch gives what the same writes give one after another with Writev,
// and what the seam's contract says each must give; the bytes of the two
// writes to one stream arrive in order.
func TestWriteBatchMatchesSequentialWritev(t *testing.T) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGPIPE)
	defer signal.Stop(sigs)

	forEachBatchMode(t, func(t *testing.T, p *netpoll.Poller) {
		ref, _ := scenario(t, p, 1)
		for i, c := range ref {
			n, err := c.w.Stream.(*netpoll.Conn).Writev(c.w.Bufs[:])
			ref[i].w.N, ref[i].w.Err = n, err
		}
		cases, freshPeer := scenario(t, p, 2)
		ws := make([]kernel.BatchWrite, 0, len(cases)+1)
		for _, c := range cases {
			ws = append(ws, c.w)
		}
		ws = append(ws, write1(notAConn{}, []byte("x")))
		before := p.BatchStats()
		batchWithin(t, p, ws)

		for i, c := range cases {
			size := 0
			for _, b := range c.w.Bufs {
				size += len(b)
			}
			got := outcome(ws[i].N, size, ws[i].Err)
			seq := outcome(ref[i].w.N, size, ref[i].w.Err)
			t.Logf("%-11s batch %-11s (N=%d, %v)  Writev %s", c.what, got, ws[i].N, ws[i].Err, seq)
			if got != c.want || seq != c.want {
				t.Errorf("%s: batch gave %s, sequential Writev %s; want %s", c.what, got, seq, c.want)
			}
		}
		last := ws[len(ws)-1]
		if last.N != 0 || last.Err == nil || !strings.Contains(last.Err.Error(), "not a netpoll connection") {
			t.Errorf("write to a foreign stream = %d, %v; want an error naming it", last.N, last.Err)
		}
		if got := readExactly(t, p, 3, registered(t, p, freshPeer, 3), 13); string(got) != "hello, world!" {
			t.Errorf("fresh peer read %q, want %q", got, "hello, world!")
		}
		after := p.BatchStats()
		if after.Batches != before.Batches+1 || after.Writes != before.Writes+uint64(len(ws)) {
			t.Errorf("BatchStats went from %+v to %+v for one batch of %d", before, after, len(ws))
		}
		t.Logf("system calls for the batch: %d", after.Syscalls-before.Syscalls)
	})
	select {
	case s := <-sigs:
		t.Fatalf("received %v", s)
	case <-time.After(quietFor):
	}
}

// registered registers c with tok for reading and returns it.
func registered(t *testing.T, p *netpoll.Poller, c *netpoll.Conn, tok kernel.Token) *netpoll.Conn {
	t.Helper()
	mustRegister(t, p, c, tok, kernel.InterestRead)
	return c
}

// A short write sends exactly a prefix of the buffers, and the peer gets
// exactly those bytes.
func TestWriteBatchShortWriteSendsAPrefix(t *testing.T) {
	forEachBatchMode(t, func(t *testing.T, p *netpoll.Poller) {
		peer, srv := pair(t)
		smallBuffers(t, srv, peer)
		mustRegister(t, p, peer, 1, kernel.InterestRead)
		a := bytes.Repeat([]byte("a"), 3000)
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = byte(i % 251)
		}
		// The empty second write keeps the batch on the ring (a batch of
		// one write takes Writev).
		ws := []kernel.BatchWrite{{Stream: srv, Bufs: [kernel.BatchBufsMax][]byte{a, b}}, {Stream: srv}}
		batchWithin(t, p, ws)
		n, err := ws[0].N, ws[0].Err
		if err != nil || n <= len(a) || n >= len(a)+len(b) {
			t.Fatalf("batch write of %d bytes = %d, %v; want a short write past the first buffer", len(a)+len(b), n, err)
		}
		want := append(append([]byte(nil), a...), b...)[:n]
		if got := readExactly(t, p, 1, peer, n); !bytes.Equal(got, want) {
			t.Fatalf("peer read %d bytes that are not the first %d written", len(got), n)
		}
		t.Logf("short write: %d of %d bytes", n, len(a)+len(b))
	})
}

// The writable guarantee holds for a batch: fill the send path with batch
// writes (the peer not reading) until one would block, and once the peer
// drains, a writable event arrives and the next batch makes progress.
// Every byte the batches reported written reaches the peer.
func TestWriteBatchWouldBlockThenWritableEdge(t *testing.T) {
	forEachBatchMode(t, func(t *testing.T, p *netpoll.Poller) {
		peer, srv := pair(t)
		smallBuffers(t, srv, peer)
		mustRegister(t, p, srv, 1, kernel.InterestWrite)
		waitFor(t, p, 1, "initial writable", isWritable)

		chunk := bytes.Repeat([]byte("w"), 8<<10)
		ws := []kernel.BatchWrite{write1(srv, chunk), {Stream: srv}} // two, to stay on the ring
		written := 0
		for {
			batchWithin(t, p, ws)
			written += ws[0].N
			if errors.Is(ws[0].Err, kernel.ErrWouldBlock) {
				if ws[0].N != 0 {
					t.Fatalf("ErrWouldBlock with N=%d", ws[0].N)
				}
				break
			}
			if ws[0].Err != nil {
				t.Fatalf("batch write: %v", ws[0].Err)
			}
			if written > 64<<20 {
				t.Fatal("64 MiB written without filling the send path")
			}
		}
		t.Logf("send path full after %d bytes", written)

		received := drainUntilWritable(t, p, 1, peer, written)
		batchWithin(t, p, ws)
		if ws[0].Err != nil || ws[0].N == 0 {
			t.Fatalf("batch write after the writable edge = %d, %v", ws[0].N, ws[0].Err)
		}
		written += ws[0].N
		mustRegister(t, p, peer, 2, kernel.InterestRead)
		received += len(readExactly(t, p, 2, peer, written-received))
		if received != written {
			t.Fatalf("peer received %d bytes, batches wrote %d", received, written)
		}
	})
}

// Writes to one stream in one batch are made in order: the bytes of a
// batch with the same stream K times arrive in order.
func TestWriteBatchSameStreamInOrder(t *testing.T) {
	forEachBatchMode(t, func(t *testing.T, p *netpoll.Poller) {
		peer, srv := pair(t)
		mustRegister(t, p, peer, 1, kernel.InterestRead)
		var ws []kernel.BatchWrite
		var want []byte
		for i := range 100 {
			b := []byte(fmt.Sprintf("<%d>", i))
			ws = append(ws, write1(srv, b))
			want = append(want, b...)
		}
		batchWithin(t, p, ws)
		for i, w := range ws {
			if w.Err != nil || w.N != len(w.Bufs[0]) {
				t.Fatalf("write %d = %d, %v", i, w.N, w.Err)
			}
		}
		if got := readExactly(t, p, 1, peer, len(want)); !bytes.Equal(got, want) {
			t.Fatalf("peer read %q, want %q", got, want)
		}
	})
}

// A batch larger than the ring takes one io_uring_enter per RingEntries
// writes (the limit's boundary: exactly RingEntries is one, one more is
// two); the writev loop makes one system call per write. Every write
// arrives.
func TestWriteBatchLargerThanRing(t *testing.T) {
	const entries = 4
	for _, m := range batchModes {
		t.Run(m.name, func(t *testing.T) {
			cfg := m.cfg
			cfg.RingEntries = entries
			p := newBatchPoller(t, cfg, m.want)
			peers := make([]*netpoll.Conn, 2*entries+1)
			srvs := make([]*netpoll.Conn, len(peers))
			for i := range peers {
				peers[i], srvs[i] = pair(t)
				mustRegister(t, p, peers[i], kernel.Token(i+1), kernel.InterestRead)
			}
			for _, k := range []int{entries, entries + 1, 2*entries + 1} {
				ws := make([]kernel.BatchWrite, k)
				for i := range ws {
					ws[i] = write1(srvs[i], []byte{byte('a' + i)})
				}
				before := p.BatchStats().Syscalls
				batchWithin(t, p, ws)
				calls := p.BatchStats().Syscalls - before
				want := uint64(k)
				if m.want == netpoll.BatchIOUring {
					want = uint64((k + entries - 1) / entries)
				}
				if calls != want {
					t.Errorf("batch of %d writes with RingEntries %d: %d system calls, want %d", k, entries, calls, want)
				}
				for i, w := range ws {
					if w.Err != nil || w.N != 1 {
						t.Fatalf("write %d of %d = %d, %v", i, k, w.N, w.Err)
					}
					if got := readExactly(t, p, kernel.Token(i+1), peers[i], 1); got[0] != byte('a'+i) {
						t.Fatalf("peer %d read %q", i, got)
					}
				}
			}
		})
	}
}

// A batch allocates nothing in steady state, on either path: 16 writes of
// two buffers each to 16 connections.
func TestWriteBatchDoesNotAllocate(t *testing.T) {
	const k = 16
	forEachBatchMode(t, func(t *testing.T, p *netpoll.Poller) {
		ws := make([]kernel.BatchWrite, k)
		frame := bytes.Repeat([]byte("m"), 64)
		for i := range ws {
			_, srv := pair(t)
			ws[i] = kernel.BatchWrite{Stream: srv, Bufs: [kernel.BatchBufsMax][]byte{frame[:40], frame[40:]}}
		}
		var failed error
		allocs := testing.AllocsPerRun(100, func() {
			p.WriteBatch(ws)
			for i, w := range ws {
				if (w.Err != nil || w.N != len(frame)) && failed == nil {
					failed = fmt.Errorf("write %d = %d, %v", i, w.N, w.Err)
				}
			}
		})
		if failed != nil {
			t.Fatal(failed)
		}
		if allocs != 0 {
			t.Fatalf("WriteBatch of %d writes allocates %v times per batch, want 0", k, allocs)
		}
	})
}

// RingEntries is checked at its bounds: 1 and RingEntriesMax work, 0 is
// the default, and below 0 or above the maximum is an error from
// NewConfig, not a silent clamp.
func TestNewConfigRingEntriesBounds(t *testing.T) {
	for _, n := range []int{-1, netpoll.RingEntriesMax + 1} {
		if p, err := netpoll.NewConfig(netpoll.Config{RingEntries: n}); err == nil {
			p.Close()
			t.Errorf("NewConfig(RingEntries: %d) succeeded", n)
		}
	}
	for _, n := range []int{0, 1, netpoll.RingEntriesMax} {
		p := newBatchPoller(t, netpoll.Config{RingEntries: n}, netpoll.BatchIOUring)
		peer, srv := pair(t)
		mustRegister(t, p, peer, 1, kernel.InterestRead)
		ws := []kernel.BatchWrite{write1(srv, []byte("ab")), write1(srv, []byte("cd"))}
		batchWithin(t, p, ws)
		if got := readExactly(t, p, 1, peer, 4); string(got) != "abcd" {
			t.Errorf("RingEntries %d: peer read %q", n, got)
		}
	}
}

// NoIOUring forces the writev loop and says so; a closed Poller's batches
// take the loop too.
func TestBatchPathReasons(t *testing.T) {
	p := newBatchPoller(t, netpoll.Config{NoIOUring: true}, netpoll.BatchWritev)
	if _, reason := p.BatchPath(); !errors.Is(reason, netpoll.ErrIOUringOff) {
		t.Errorf("reason %v, want ErrIOUringOff", reason)
	}
	q, err := netpoll.New()
	if err != nil {
		t.Fatal(err)
	}
	path, reason := q.BatchPath()
	t.Logf("New: BatchPath %v (%v)", path, reason)
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if path, reason := q.BatchPath(); path != netpoll.BatchWritev || reason == nil {
		t.Errorf("after Close: BatchPath %v (%v), want writev with a reason", path, reason)
	}
	_, srv := pair(t)
	ws := []kernel.BatchWrite{write1(srv, []byte("x"))}
	q.WriteBatch(ws)
	if ws[0].Err != nil || ws[0].N != 1 {
		t.Errorf("batch after Close = %d, %v", ws[0].N, ws[0].Err)
	}
}
