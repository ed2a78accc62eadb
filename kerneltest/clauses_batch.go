package kerneltest

import (
	"errors"
	"fmt"

	"github.com/mobsim/mobsim/kernel"
)

// batchWriter returns the poller's BatchWriter, or skips the subtest for a
// kernel that does not offer one (it is optional: the caller then makes the
// writes itself).
func (c *checker) batchWriter() kernel.BatchWriter {
	c.t.Helper()
	bw, ok := c.p.(kernel.BatchWriter)
	if !ok {
		c.t.Skipf("the poller (%T) does not implement kernel.BatchWriter", c.p)
	}
	return bw
}

// foreignStream is a stream of no kernel: a batch write to it must fail,
// and fail alone.
type foreignStream struct{}

func (foreignStream) Read([]byte) (int, error)  { return 0, kernel.ErrWouldBlock }
func (foreignStream) Write([]byte) (int, error) { return 0, kernel.ErrWouldBlock }
func (foreignStream) CloseWrite() error         { return nil }
func (foreignStream) Close() error              { return nil }

// One batch to three fresh streams: two pieces for the first (its bytes in
// buffer order), two writes for the second (the second's bytes after the
// first's), an empty write for the third, and a write to a stream of no
// kernel. Each result must be what Writev would return, and each peer must
// get exactly the bytes counted, in order.
func writeBatch(c *checker) {
	bw := c.batchWriter()
	p0, s0 := c.pair()
	p1, s1 := c.pair()
	_, s2 := c.pair()
	ws := []kernel.BatchWrite{
		{Stream: s0, Bufs: [kernel.BatchBufsMax][]byte{[]byte("one "), nil, []byte("two")}},
		{Stream: s1, Bufs: [kernel.BatchBufsMax][]byte{[]byte("first ")}},
		{Stream: s2},
		{Stream: foreignStream{}, Bufs: [kernel.BatchBufsMax][]byte{[]byte("lost")}},
		{Stream: s1, Bufs: [kernel.BatchBufsMax][]byte{[]byte("second")}},
	}
	for i := range ws {
		ws[i].N, ws[i].Err = -1, errors.New("not reported")
	}
	bw.WriteBatch(ws)
	for i, want := range []int{len("one two"), len("first "), 0, -1, len("second")} {
		w := ws[i]
		switch {
		case want < 0:
			if w.Err == nil || errors.Is(w.Err, kernel.ErrWouldBlock) || w.N != 0 {
				c.t.Fatalf("batch write %d to a stream of no kernel = %d, %v; want 0 and an error", i, w.N, w.Err)
			}
		case w.Err != nil || w.N != want:
			c.t.Fatalf("batch write %d on a fresh stream = %d, %v; want %d, nil", i, w.N, w.Err, want)
		}
	}
	for _, pc := range []struct {
		p    Peer
		want string
	}{{p0, "one two"}, {p1, "first second"}} {
		got, err := c.peerRecv(pc.p, len(pc.want))
		if err != nil || string(got) != pc.want {
			c.t.Fatalf("peer read %q, %v; want %q", got, err, pc.want)
		}
	}
}

// A batch write that returns ErrWouldBlock: the stream is filled through
// batches of one write until one says ErrWouldBlock, then the peer reads
// until a writable event comes, as after Write; every byte a batch counted
// reaches the peer in order.
func writeBatchWouldBlock(c *checker) {
	bw := c.batchWriter()
	peer, s := c.pair()
	c.register(s, 1, kernel.InterestWrite)
	c.await(1, "initial writable edge", hasWrite, nil)
	ws := make([]kernel.BatchWrite, 1)
	sent := 0
	for blocked := false; !blocked; {
		if sent > fillBytesMax {
			c.t.Fatalf("WriteBatch never returned ErrWouldBlock in %d bytes to a peer that does not read", sent)
		}
		ws[0] = kernel.BatchWrite{Stream: s, Bufs: [kernel.BatchBufsMax][]byte{patternAt(sent, chunkBytes/2), patternAt(sent+chunkBytes/2, chunkBytes/2)}}
		bw.WriteBatch(ws)
		sent += ws[0].N
		switch err := ws[0].Err; {
		case errors.Is(err, kernel.ErrWouldBlock):
			if ws[0].N != 0 {
				c.t.Fatalf("batch write returned ErrWouldBlock with %d bytes written; want 0", ws[0].N)
			}
			blocked = true
		case err != nil:
			c.t.Fatalf("batch write after %d bytes: %v", sent, err)
		case ws[0].N < chunkBytes:
			c.h.Settle() // a short write: the next one may still block
		}
	}
	var got []byte
	c.await(1, fmt.Sprintf("writable edge after a batch write's ErrWouldBlock (%d bytes written)", sent), hasWrite, func() {
		if err := peerDrain(peer, &got); err != nil {
			c.t.Fatalf("peer Read: %v", err)
		}
	})
	rest, err := c.peerRecv(peer, sent-len(got))
	got = append(got, rest...)
	if err != nil {
		c.t.Fatalf("peer Read after %d of %d bytes: %v", len(got), sent, err)
	}
	if i := firstDiff(got, patternAt(0, sent)); i < sent || len(got) != sent {
		c.t.Fatalf("the peer's bytes differ from the batch's at byte %d (got %d, written %d)", i, len(got), sent)
	}
}

// A batch with a write to a reset peer between two writes to healthy ones:
// that write fails with EPIPE or ECONNRESET (within a bounded number of
// batches: the first may be taken, as with Write), never SIGPIPE, and the
// others are made.
func writeBatchBroken(c *checker) {
	bw := c.batchWriter()
	pa, sa := c.pair()
	pr, sr := c.pair()
	pb, sb := c.pair()
	if err := pr.Abort(); err != nil {
		c.t.Fatalf("peer Abort: %v", err)
	}
	c.h.Settle()
	ws := make([]kernel.BatchWrite, 3)
	for round := range awaitRounds {
		ws[0] = kernel.BatchWrite{Stream: sa, Bufs: [kernel.BatchBufsMax][]byte{[]byte("a")}}
		ws[1] = kernel.BatchWrite{Stream: sr, Bufs: [kernel.BatchBufsMax][]byte{[]byte("anyone there?")}}
		ws[2] = kernel.BatchWrite{Stream: sb, Bufs: [kernel.BatchBufsMax][]byte{[]byte("b")}}
		bw.WriteBatch(ws)
		for _, i := range []int{0, 2} {
			if ws[i].Err != nil || ws[i].N != 1 {
				c.t.Fatalf("batch round %d: write %d to a healthy stream = %d, %v; want 1, nil", round, i, ws[i].N, ws[i].Err)
			}
		}
		err := ws[1].Err
		if isBrokenPipe(err) {
			for _, p := range []Peer{pa, pb} {
				if got, err := c.peerRecv(p, round+1); err != nil || len(got) != round+1 {
					c.t.Fatalf("a healthy peer read %q, %v; want %d bytes, one per batch", got, err, round+1)
				}
			}
			return
		}
		if err != nil && !errors.Is(err, kernel.ErrWouldBlock) {
			c.t.Fatalf("batch write to a reset peer = %d, %v; want an error wrapping EPIPE or ECONNRESET", ws[1].N, err)
		}
		c.h.Settle()
	}
	c.t.Fatalf("batch write to a reset peer never failed within %d rounds", awaitRounds)
}
