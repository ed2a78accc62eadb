package netrec

import (
	"fmt"

	"github.com/mobsim/mobsim/kernel"
)

// replayListener and the replay streams answer from the recording. A
// stream recorded with Writev is a replayVStream, so the core's type
// assertion for kernel.VectorWriter sees what the live core saw.
type replayListener struct {
	p  *Replayer
	id uint64
}

type replayStream struct {
	p  *Replayer
	id uint64
}

type replayVStream struct{ replayStream }

// replayCStream and replayVCStream were recorded with UnackedBytes and
// Abort (and Writev).
type replayCStream struct{ replayStream }

type replayVCStream struct{ replayVStream }

var (
	_ kernel.Listener       = (*replayListener)(nil)
	_ kernel.Stream         = (*replayStream)(nil)
	_ kernel.VectorWriter   = (*replayVStream)(nil)
	_ kernel.UnackedCounter = (*replayCStream)(nil)
	_ kernel.Aborter        = (*replayCStream)(nil)
	_ kernel.UnackedCounter = (*replayVCStream)(nil)
	_ kernel.Aborter        = (*replayVCStream)(nil)
)

// Accept returns the recorded stream or error.
func (l *replayListener) Accept() (kernel.Stream, error) {
	rec := l.p.take(&Call{Op: OpAccept, ID: l.id})
	switch {
	case rec == nil:
		return nil, l.p.err
	case rec.Err != nil:
		return nil, rec.Err
	}
	st := replayStream{p: l.p, id: rec.NewID}
	switch {
	case rec.Vector && rec.Closing:
		return &replayVCStream{replayVStream{st}}, nil
	case rec.Vector:
		return &replayVStream{st}, nil
	case rec.Closing:
		return &replayCStream{st}, nil
	}
	return &st, nil
}

func (l *replayListener) Close() error { return l.p.closeCall(OpClose, l.id) }

// ID returns the listener's id in the recording.
func (l *replayListener) ID() uint64 { return l.id }

// Read matches the buffer's length and returns the recorded bytes.
func (s *replayStream) Read(b []byte) (int, error) {
	rec := s.p.take(&Call{Op: OpRead, ID: s.id, Len: len(b)})
	if rec == nil {
		return 0, s.p.err
	}
	return copy(b, rec.Data), rec.Err
}

// Write matches the length and the bytes the live write took.
func (s *replayStream) Write(b []byte) (int, error) {
	rec := s.p.take(&Call{Op: OpWrite, ID: s.id, Len: len(b), Data: b})
	if rec == nil {
		return 0, s.p.err
	}
	return rec.N, rec.Err
}

func (s *replayStream) CloseWrite() error { return s.p.closeCall(OpCloseWrite, s.id) }
func (s *replayStream) Close() error      { return s.p.closeCall(OpClose, s.id) }

// ID returns the stream's id in the recording: what sim's and the oracle's
// adapters use to name a connection.
func (s *replayStream) ID() uint64 { return s.id }

func (s *replayStream) String() string { return fmt.Sprintf("stream %d", s.id) }

// Writev matches the buffers' lengths and the bytes the live call took.
func (s *replayVStream) Writev(bufs [][]byte) (int, error) {
	rec := s.p.take(&Call{Op: OpWritev, ID: s.id, Vec: bufs})
	if rec == nil {
		return 0, s.p.err
	}
	return rec.N, rec.Err
}

// UnackedBytes returns the recorded count or error.
func (s *replayCStream) UnackedBytes() (int, error) { return s.p.unackedCall(s.id) }

// Abort replays an abortive close.
func (s *replayCStream) Abort() error { return s.p.closeCall(OpAbort, s.id) }

// UnackedBytes returns the recorded count or error.
func (s *replayVCStream) UnackedBytes() (int, error) { return s.p.unackedCall(s.id) }

// Abort replays an abortive close.
func (s *replayVCStream) Abort() error { return s.p.closeCall(OpAbort, s.id) }

func (p *Replayer) unackedCall(id uint64) (int, error) {
	rec := p.take(&Call{Op: OpUnacked, ID: id})
	if rec == nil {
		return 0, p.err
	}
	return rec.N, rec.Err
}

// closeCall replays CloseWrite, Close or Abort of source id.
func (p *Replayer) closeCall(op Op, id uint64) error {
	if rec := p.take(&Call{Op: op, ID: id}); rec != nil {
		return rec.Err
	}
	return p.err
}
