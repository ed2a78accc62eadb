package netfake

import (
	"fmt"

	"github.com/mobsim/mobsim/kernel"
)

var _ kernel.BatchWriter = (*Kernel)(nil)

// WriteBatch makes the writes of ws one after another, each as Writev on
// its socket with its buffers, and reports each in its N and Err: the
// definition of a batch in package kernel, with nothing added. The trace
// records exactly what those Writev calls record (no record of the batch
// itself), and the fault plan draws for each as for a Writev, so a world
// whose server batches its writes has the trace and hash of one that made
// the same writes itself. A write to a stream that is not a *Socket of
// this kernel fails alone, with no syscall.
func (k *Kernel) WriteBatch(ws []kernel.BatchWrite) {
	for i := range ws {
		w := &ws[i]
		s, ok := w.Stream.(*Socket)
		if !ok || s == nil || s.k != k {
			w.N, w.Err = 0, fmt.Errorf("netfake: batch write: stream %T is not a socket of this kernel", w.Stream)
			continue
		}
		w.N, w.Err = s.Writev(w.Bufs[:])
	}
}
