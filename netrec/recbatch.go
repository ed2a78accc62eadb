package netrec

import (
	"encoding/binary"

	"github.com/mobsim/mobsim/kernel"
)

// recBatchPoller is the Recorder as the core sees it when the kernel it
// wraps writes batches (kernel.BatchWriter): the core's type assertion
// finds WriteBatch exactly when the kernel has it, as for Writev on a
// stream.
type recBatchPoller struct {
	*Recorder
}

var _ kernel.BatchWriter = recBatchPoller{}

// Poller is the poller to build the core on: the Recorder, with
// WriteBatch when Options.Batches asked for it and the kernel it wraps has
// it.
func (r *Recorder) Poller() kernel.Poller {
	if r.batcher != nil {
		return recBatchPoller{r}
	}
	return r
}

// WriteBatch passes the batch to the kernel with its own streams in place
// of the recorder's wrappers (put back before it returns), then records
// each write as Writev's record holds one: the stream, the buffers'
// lengths, what the write mode keeps of the bytes written, the error.
func (p recBatchPoller) WriteBatch(ws []kernel.BatchWrite) {
	r := p.Recorder
	r.batchSrc = r.batchSrc[:0]
	for i := range ws {
		w := &ws[i]
		r.batchSrc = append(r.batchSrc, w.Stream)
		if in, id := unwrap(w.Stream); id != 0 {
			w.Stream = in.(kernel.Stream)
		}
	}
	r.batcher.WriteBatch(ws)
	for i := range ws {
		ws[i].Stream = r.batchSrc[i]
	}
	clear(r.batchSrc) // hold no stream past the batch
	at, ok := r.start(OpWriteBatch)
	if !ok {
		return
	}
	b := binary.AppendUvarint(r.log.buf, uint64(len(ws)))
	for i := range ws {
		w := &ws[i]
		_, id := unwrap(w.Stream)
		nb := kernel.BatchBufsMax
		for nb > 0 && len(w.Bufs[nb-1]) == 0 {
			nb-- // trailing empty buffers are left out
		}
		b = binary.AppendUvarint(b, id)
		b = binary.AppendUvarint(b, uint64(nb))
		b = r.appendVector(b, w.Bufs[:nb], w.N)
		b = appendErr(b, w.Err)
	}
	r.log.buf = b
	r.log.commit(at)
}
