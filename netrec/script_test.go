package netrec_test

import (
	"errors"
	"time"

	"github.com/mobsim/mobsim/kernel"
)

// scriptKernel is an inner kernel whose every answer the test sets: the
// recorder's input. Its streams read readData (or fail with readErr), take
// writes whole up to writeMax bytes (or fail with writeErr), and never block
// unless told to.
type scriptKernel struct {
	now       time.Duration
	batch     []kernel.Event
	pollErr   error
	regErr    error
	streams   []*scriptStream // handed out by Accept, in order
	acceptErr error
}

func (k *scriptKernel) Register(kernel.Source, kernel.Token, kernel.Interest) error { return k.regErr }
func (k *scriptKernel) Reregister(kernel.Source, kernel.Token, kernel.Interest) error {
	return k.regErr
}
func (k *scriptKernel) Deregister(kernel.Source) error { return k.regErr }
func (k *scriptKernel) Now() time.Duration             { k.now += time.Microsecond; return k.now }

func (k *scriptKernel) Poll(events []kernel.Event, _ time.Duration) (int, error) {
	return copy(events, k.batch), k.pollErr
}

func (k *scriptKernel) Accept() (kernel.Stream, error) {
	if k.acceptErr != nil {
		return nil, k.acceptErr
	}
	if len(k.streams) == 0 {
		return nil, kernel.ErrWouldBlock
	}
	st := k.streams[0]
	k.streams = k.streams[1:]
	if st.vector {
		return &scriptVStream{st}, nil
	}
	return st, nil
}

func (k *scriptKernel) Close() error { return nil }

type scriptStream struct {
	readData []byte
	readErr  error
	writeMax int // bytes a write takes at most; 0 means all
	writeErr error
	closeErr error
	vector   bool
}

func (s *scriptStream) Read(p []byte) (int, error) {
	if s.readErr != nil {
		return 0, s.readErr
	}
	return copy(p, s.readData), nil
}

func (s *scriptStream) Write(p []byte) (int, error) {
	if s.writeErr != nil {
		return 0, s.writeErr
	}
	if s.writeMax > 0 {
		return min(len(p), s.writeMax), nil
	}
	return len(p), nil
}

func (s *scriptStream) CloseWrite() error { return s.closeErr }
func (s *scriptStream) Close() error      { return s.closeErr }

type scriptVStream struct{ *scriptStream }

func (s *scriptVStream) Writev(bufs [][]byte) (int, error) {
	if s.writeErr != nil {
		return 0, s.writeErr
	}
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	if s.writeMax > 0 {
		n = min(n, s.writeMax)
	}
	return n, nil
}

// scriptBatchKernel is scriptKernel with batched writes: each write made
// as its stream's Writev.
type scriptBatchKernel struct{ *scriptKernel }

func (k scriptBatchKernel) WriteBatch(ws []kernel.BatchWrite) {
	for i := range ws {
		w := &ws[i]
		vs, ok := w.Stream.(*scriptVStream)
		if !ok {
			w.N, w.Err = 0, errors.New("not a script stream with Writev")
			continue
		}
		w.N, w.Err = vs.Writev(w.Bufs[:])
	}
}
