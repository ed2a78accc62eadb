package netrec

import (
	"fmt"

	"github.com/mobsim/mobsim/kernel"
)

// replayBatchPoller is the Replayer as the core sees it when the recorded
// kernel wrote batches: the core finds WriteBatch exactly when the live
// core did.
type replayBatchPoller struct {
	*Replayer
}

var _ kernel.BatchWriter = replayBatchPoller{}

// Poller is the poller to build the core on: the Replayer, with
// WriteBatch when the recorded kernel had it (Header.Batches).
func (p *Replayer) Poller() kernel.Poller {
	if p.rd.hdr.Batches {
		return replayBatchPoller{p}
	}
	return p
}

// WriteBatch matches the batch write by write, each as a Writev (the
// stream, the buffers' lengths, the bytes the live write took), and fills
// in the recorded counts and errors.
func (p replayBatchPoller) WriteBatch(ws []kernel.BatchWrite) {
	rec := p.take(&Call{Op: OpWriteBatch, Writes: ws})
	for i := range ws {
		if rec == nil {
			ws[i].N, ws[i].Err = 0, p.err
			continue
		}
		ws[i].N, ws[i].Err = rec.Batch[i].N, rec.Batch[i].Err
	}
}

// batchVec is the buffers of w up to its last non-empty one, as the
// recorder keeps them.
func batchVec(w *kernel.BatchWrite) [][]byte {
	nb := kernel.BatchBufsMax
	for nb > 0 && len(w.Bufs[nb-1]) == 0 {
		nb--
	}
	return w.Bufs[:nb]
}

// matchBatch reports how the core's batch differs from the recorded one:
// the number of writes, then each write as Writev's match sees it.
func matchBatch(c *Call, rec *Record, mode WriteMode) string {
	if len(c.Writes) != len(rec.Batch) {
		return fmt.Sprintf("%d writes, recorded %d", len(c.Writes), len(rec.Batch))
	}
	for i := range c.Writes {
		w, it := &c.Writes[i], &rec.Batch[i]
		id, _ := ID(w.Stream)
		one := Call{Op: OpWritev, ID: id, Vec: batchVec(w)}
		r := it.Record()
		if why := match(&one, &r, mode); why != "" {
			return fmt.Sprintf("write %d of the batch: %s", i, why)
		}
	}
	return ""
}

// Record is the write as a Writev record holds it (its step, offset and
// time are not set).
func (it *BatchItem) Record() Record {
	return Record{Op: OpWritev, ID: it.ID, Bufs: it.Bufs, N: it.N, Data: it.Data, Digest: it.Digest, HasDigest: it.HasDigest, Err: it.Err}
}

// batchWritten gives each write of a batch recorded without its bytes the
// bytes the core's write took, for the hooks.
func (p *Replayer) batchWritten(c *Call, rec *Record) {
	p.written = p.written[:0]
	for i := range c.Writes {
		p.written = appendFirst(p.written, &Call{Op: OpWritev, Vec: batchVec(&c.Writes[i])}, rec.Batch[i].N)
	}
	at := 0
	for i := range rec.Batch {
		n := rec.Batch[i].N
		rec.Batch[i].Data = p.written[at : at+n : at+n]
		at += n
	}
}

// batchCalls is the batch as one Writev call a write, for a divergence
// report: the core's (from its buffers) or the recording's.
func batchCalls(c *Call, rec *Record) []Call {
	var out []Call
	if rec != nil {
		for i := range rec.Batch {
			r := rec.Batch[i].Record()
			out = append(out, callOf(&r))
		}
		return out
	}
	for i := range c.Writes {
		id, _ := ID(c.Writes[i].Stream)
		one := Call{Op: OpWritev, ID: id, Vec: batchVec(&c.Writes[i])}
		out = append(out, one.clone())
	}
	return out
}
