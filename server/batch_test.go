package server

import (
	"syscall"
	"testing"

	"github.com/mobsim/mobsim/kernel"
)

// batchPoller is the mock poller with a BatchWriter that makes each write
// with the stream's Writev, as the contract defines a batch, and counts the
// batches.
type batchPoller struct {
	*mockPoller
	batches, writes int
}

func (p *batchPoller) WriteBatch(ws []kernel.BatchWrite) {
	p.batches++
	for i := range ws {
		p.writes++
		w := &ws[i]
		w.N, w.Err = w.Stream.(*mockStream).Writev(w.Bufs[:])
	}
}

// The fan-out through a BatchWriter: one batch per tick holds every
// member's first write, and each result is taken as flush takes a write's.
// A short write is finished by a second write outside the batch (here it
// would-blocks, and the rest goes after the writable event); a failed write
// marks the member broken, to be closed by the next read phase.
func TestFanOutBatch(t *testing.T) {
	bp := &batchPoller{mockPoller: &mockPoller{}}
	h := &harness{t: t, p: bp.mockPoller, ln: &mockListener{}}
	s, err := New(bp, h.ln, Config{})
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	c := h.connect(4)
	c[1].outCap = 3
	c[2].writeErr = syscall.EPIPE
	h.send(c[0], "hello\n")
	if bp.batches != 1 || bp.writes != 4 {
		t.Fatalf("%d batches with %d writes; want one with a write per member", bp.batches, bp.writes)
	}
	for _, i := range []int{0, 3} {
		if string(c[i].out) != "hello\n" || c[i].writes != 1 {
			t.Fatalf("member %d got %q in %d writes", i, c[i].out, c[i].writes)
		}
	}
	if string(c[1].out) != "hel" || c[1].writes != 2 {
		t.Fatalf("short member got %q in %d writes; want the batch's 3 bytes, then a would-block", c[1].out, c[1].writes)
	}
	c[1].outCap = -1
	h.tick(kernel.Event{Token: h.token(c[1]), Ready: kernel.ReadyWrite})
	if string(c[1].out) != "hello\n" {
		t.Fatalf("after the writable event the short member has %q", c[1].out)
	}
	if st := h.s.Stats(); st.Closed[ReasonWriteError] != 1 || st.WriteBatches != uint64(bp.batches) || st.BatchedWrites != uint64(bp.writes) {
		t.Fatalf("closes %v, %d batches of %d writes counted (kernel: %d of %d); want the broken member closed", st.Closed,
			st.WriteBatches, st.BatchedWrites, bp.batches, bp.writes)
	}
}
