package netrec

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/mobsim/mobsim/kernel"
)

// recListener is a recorded listener: each Accept is recorded with the id
// of the stream it returns.
type recListener struct {
	r  *Recorder
	in kernel.Listener
	id uint64
}

// recStream is a recorded stream without Writev; recVStream one with it.
// They are two types so that the core's type assertion for
// kernel.VectorWriter finds what the kernel's stream offers, no more. The
// same goes for the closing capabilities (kernel.UnackedCounter and
// kernel.Aborter, taken together: every kernel that has the first has the
// second): recCStream and recVCStream have them.
type recStream struct {
	r  *Recorder
	in kernel.Stream
	id uint64
}

type recVStream struct {
	recStream
	vw kernel.VectorWriter
}

// recCloser records UnackedBytes and Abort of the stream s.
type recCloser struct {
	s *recStream
	u kernel.UnackedCounter
	a kernel.Aborter
}

type recCStream struct {
	recStream
	recCloser
}

type recVCStream struct {
	recVStream
	recCloser
}

var (
	_ kernel.Listener       = (*recListener)(nil)
	_ kernel.Stream         = (*recStream)(nil)
	_ kernel.VectorWriter   = (*recVStream)(nil)
	_ kernel.UnackedCounter = (*recCStream)(nil)
	_ kernel.Aborter        = (*recVCStream)(nil)
	_ kernel.VectorWriter   = (*recVCStream)(nil)
)

// The accept record's flags: what the new stream offers.
const (
	acceptVector  = 1 << 0 // kernel.VectorWriter
	acceptClosing = 1 << 1 // kernel.UnackedCounter and kernel.Aborter
)

// wrapStream wraps st for the recording as id, with the capabilities st
// has, and returns the accept record's flags for them.
func wrapStream(r *Recorder, st kernel.Stream, id uint64) (kernel.Stream, byte) {
	base := recStream{r: r, in: st, id: id}
	vw, vector := st.(kernel.VectorWriter)
	u, unacked := st.(kernel.UnackedCounter)
	a, aborts := st.(kernel.Aborter)
	switch closing := unacked && aborts; {
	case vector && closing:
		w := &recVCStream{recVStream: recVStream{base, vw}}
		w.recCloser = recCloser{&w.recStream, u, a}
		return w, acceptVector | acceptClosing
	case vector:
		return &recVStream{base, vw}, acceptVector
	case closing:
		w := &recCStream{recStream: base}
		w.recCloser = recCloser{&w.recStream, u, a}
		return w, acceptClosing
	}
	return &base, 0
}

// unwrap returns the kernel's own source behind a recorder's wrapper, and
// its id (0 for a source the recorder did not wrap).
func unwrap(src kernel.Source) (kernel.Source, uint64) {
	switch s := src.(type) {
	case *recStream:
		return s.in, s.id
	case *recVStream:
		return s.in, s.id
	case *recCStream:
		return s.in, s.id
	case *recVCStream:
		return s.in, s.id
	case *recListener:
		return s.in, s.id
	}
	return src, 0
}

// Accept records the result: the new stream's id and whether it has
// Writev, or the error.
func (l *recListener) Accept() (kernel.Stream, error) {
	st, err := l.in.Accept()
	r := l.r
	var out kernel.Stream = st
	var id uint64
	var flags byte
	if err == nil && st != nil {
		r.nextID++
		id = r.nextID
		out, flags = wrapStream(r, st, id)
	}
	at, ok := r.start(OpAccept)
	if !ok {
		return out, err
	}
	b := binary.AppendUvarint(r.log.buf, l.id)
	b = appendErr(b, err)
	if err == nil {
		b = binary.AppendUvarint(b, id)
		b = append(b, flags)
	}
	r.log.buf = b
	r.log.commit(at)
	return out, err
}

func (l *recListener) Close() error {
	err := l.in.Close()
	l.r.sourceRecord(OpClose, l.id, err)
	return err
}

// Unwrap returns the kernel's listener.
func (l *recListener) Unwrap() kernel.Listener { return l.in }

// ID returns the listener's id in the recording.
func (l *recListener) ID() uint64 { return l.id }

func (s *recStream) Read(p []byte) (int, error) {
	n, err := s.in.Read(p)
	s.r.dataRecord(OpRead, s.id, p, n, err)
	return n, err
}

func (s *recStream) Write(p []byte) (int, error) {
	n, err := s.in.Write(p)
	s.r.dataRecord(OpWrite, s.id, p, n, err)
	return n, err
}

func (s *recStream) CloseWrite() error {
	err := s.in.CloseWrite()
	s.r.sourceRecord(OpCloseWrite, s.id, err)
	return err
}

func (s *recStream) Close() error {
	err := s.in.Close()
	s.r.sourceRecord(OpClose, s.id, err)
	return err
}

// Unwrap returns the kernel's stream (for callers that need its address).
func (s *recStream) Unwrap() kernel.Stream { return s.in }

// ID returns the stream's id in the recording.
func (s *recStream) ID() uint64 { return s.id }

// String describes the stream as the kernel's does, for logs.
func (s *recStream) String() string {
	if f, ok := s.in.(fmt.Stringer); ok {
		return f.String()
	}
	return fmt.Sprintf("stream %d", s.id)
}

// UnackedBytes records the count, or the error.
func (c recCloser) UnackedBytes() (int, error) {
	n, err := c.u.UnackedBytes()
	r := c.s.r
	at, ok := r.start(OpUnacked)
	if !ok {
		return n, err
	}
	b := binary.AppendUvarint(r.log.buf, c.s.id)
	b = appendErr(b, err)
	if err == nil {
		b = binary.AppendUvarint(b, uint64(max(n, 0)))
	}
	r.log.buf = b
	r.log.commit(at)
	return n, err
}

// Abort records the result, as Close.
func (c recCloser) Abort() error {
	err := c.a.Abort()
	c.s.r.sourceRecord(OpAbort, c.s.id, err)
	return err
}

// Writev records the buffers' lengths, the count and the first n bytes
// written (across the buffers, in order).
func (s *recVStream) Writev(bufs [][]byte) (int, error) {
	n, err := s.vw.Writev(bufs)
	r := s.r
	at, ok := r.start(OpWritev)
	if !ok {
		return n, err
	}
	b := binary.AppendUvarint(r.log.buf, s.id)
	b = binary.AppendUvarint(b, uint64(len(bufs)))
	b = r.appendVector(b, bufs, n)
	r.log.buf = appendErr(b, err)
	r.log.commit(at)
	return n, err
}

// appendVector writes the lengths of bufs and what the write mode keeps of
// the first n bytes written across them (the count, the bytes, or their
// CRC), the layout Writev and each write of a batch share.
func (r *Recorder) appendVector(b []byte, bufs [][]byte, n int) []byte {
	total := 0
	for _, p := range bufs {
		b = binary.AppendUvarint(b, uint64(len(p)))
		total += len(p)
	}
	k := min(max(n, 0), total)
	digest := r.writes == WriteDigests
	switch r.writes {
	case WriteContents, WriteDigests:
		b = binary.AppendUvarint(b, uint64(k))
	case WriteCounts:
		digest = r.sampled()
		b = binary.AppendUvarint(b, uint64(k)<<1|uint64(boolByte(digest)))
	}
	var sum uint32
	for _, p := range bufs {
		if k == 0 || (!digest && r.writes != WriteContents) {
			break
		}
		m := min(k, len(p))
		if digest {
			sum = crc32.Update(sum, crcTable, p[:m])
		} else {
			b = append(b, p[:m]...)
		}
		k -= m
	}
	if digest {
		b = binary.LittleEndian.AppendUint32(b, sum)
	}
	return b
}
