package kernel

import (
	"errors"
	"time"
)

// Token is the caller's name for a registered source, returned in its
// events. The kernel attaches no meaning to it.
type Token uint64

// ReservedToken is the one token value a kernel may keep for itself
// (netpoll's wake-up uses it). Callers must not register it.
const ReservedToken Token = 1<<64 - 1

// Interest is the set of readiness kinds a registration asks for.
type Interest uint8

// Interest bits.
const (
	// InterestRead asks for readable edges: data, a FIN, an error, or (for
	// a listener) a pending connection.
	InterestRead Interest = 1 << iota
	// InterestWrite asks for writable edges: the initial one at
	// registration, and one after a write returned ErrWouldBlock once the
	// send side has room again.
	InterestWrite
)

// Ready is the set of readiness bits an event carries.
type Ready uint8

// Readiness bits. Only ReadyRead and ReadyWrite are guarantees; the others
// are hints, and a hint may come without ReadyRead.
const (
	// ReadyRead: a read (or accept) may make progress.
	ReadyRead Ready = 1 << iota
	// ReadyWrite: a write may make progress.
	ReadyWrite
	// ReadyReadClosed hints that the peer sent its FIN (EPOLLRDHUP, EV_EOF
	// on the read filter). Only Read returning io.EOF makes it certain.
	ReadyReadClosed
	// ReadyWriteClosed hints that the connection is closed for writing
	// (EPOLLHUP, EV_EOF on the write filter).
	ReadyWriteClosed
	// ReadyError hints at a pending socket error (EPOLLERR, EV_EOF with a
	// non-zero fflags). Only a failing Read or Write makes it certain.
	ReadyError
)

// String renders the bits as "R|W|RCLOSED|WCLOSED|ERR", or "-" for none.
func (r Ready) String() string {
	if r == 0 {
		return "-"
	}
	var b []byte
	for i, name := range [...]string{"R", "W", "RCLOSED", "WCLOSED", "ERR"} {
		if r&(1<<i) != 0 {
			if len(b) > 0 {
				b = append(b, '|')
			}
			b = append(b, name...)
		}
	}
	return string(b)
}

// Event is one readiness report for one token.
type Event struct {
	Token Token
	Ready Ready
}

// Readable reports whether the event says the source may have data, a
// pending connection, a FIN or an error to read. The hints count: each of
// them means a read will not block.
func (e Event) Readable() bool {
	return e.Ready&(ReadyRead|ReadyReadClosed|ReadyError) != 0
}

// Writable reports whether the event says the send side may have room, or
// that a write will fail at once.
func (e Event) Writable() bool {
	return e.Ready&(ReadyWrite|ReadyWriteClosed|ReadyError) != 0
}

// ErrWouldBlock is returned by non-blocking operations that cannot make
// progress now. It is not a failure.
var ErrWouldBlock = errors.New("operation would block")

// ErrInterrupted is returned by Poll when the wait was interrupted before
// any event arrived (EINTR). It is not a failure.
var ErrInterrupted = errors.New("poll interrupted")

// Source is anything a Poller can watch.
type Source interface {
	// Close releases the source and removes its registration. Events for
	// it already in a batch returned by Poll may still be delivered.
	Close() error
}

// Listener is a non-blocking listening socket.
type Listener interface {
	Source
	// Accept returns the next pending connection, already non-blocking, or
	// ErrWouldBlock when the backlog is empty. Other errors (EMFILE,
	// ENFILE, ECONNABORTED, ENOBUFS) wrap the corresponding syscall.Errno.
	// After a readable event on the listener, accepting until
	// ErrWouldBlock is the only way to be sure of a later one.
	Accept() (Stream, error)
}

// Stream is a non-blocking connected socket.
type Stream interface {
	Source
	// Read reads what has arrived, or returns ErrWouldBlock when nothing
	// has. It returns io.EOF once the peer's FIN has been reached and all
	// data sent before it has been read, and an error (typically wrapping
	// syscall.ECONNRESET) after a reset. After a readable event, reading
	// until ErrWouldBlock, io.EOF or an error makes sure of a later
	// readable event, and so does a short read: n > 0 bytes with a nil
	// error and n < len(p) (len(p) as passed to this call, whatever cut it
	// short) leaves nothing to read, and the next arrival makes a new
	// edge. A full read promises nothing. A short read says nothing of a
	// FIN or reset that came with the bytes: it is pending, with no edge
	// to come, and the events that reported the stream readable since it
	// arrived carry ReadyReadClosed or ReadyError; after such a hint, read
	// until io.EOF or an error (see the package doc).
	Read(p []byte) (int, error)
	// Write writes what fits in the send side now: it may write fewer
	// bytes than asked (a short write) and returns ErrWouldBlock when it
	// writes nothing. A writable event is guaranteed after ErrWouldBlock,
	// once there is room, while write interest is registered; none is
	// promised after a short write, so write the rest until ErrWouldBlock.
	// Writing to a connection the peer closed or reset fails (EPIPE,
	// ECONNRESET) and never raises SIGPIPE. A zero-length Write is not a
	// write: it returns 0, nil at once and does not report (or consume) a
	// pending error, so it cannot probe a connection.
	Write(p []byte) (int, error)
	// CloseWrite sends a FIN; reading stays possible.
	CloseWrite() error
}

// WritevBufsMax is the most non-empty buffers one Writev passes to the
// kernel. Both kernels stop there (netpoll keeps its iovec array on the
// stack; netfake does the same to match): a Writev of more buffers returns
// a short count at that boundary even when the socket has room, and no
// writable event follows such a short count. Write the rest again.
const WritevBufsMax = 16

// VectorWriter is implemented by streams that can write several buffers in
// one call (writev). It follows Write's rules: it may write fewer bytes
// than the buffers hold, returns ErrWouldBlock when it writes nothing, and
// the writable guarantee applies to it as to Write. It writes at most the
// first WritevBufsMax non-empty buffers (empty ones are skipped and do not
// count). Buffers holding no bytes in all are not a write: Writev returns
// 0, nil at once, as a zero-length Write does.
type VectorWriter interface {
	Writev(bufs [][]byte) (int, error)
}

// Poller is the readiness half of a kernel: one edge-triggered poller.
type Poller interface {
	// Register attaches src with tok and interest in. It reports the
	// readiness src has now as an edge: writable with InterestWrite if
	// there is room, readable with InterestRead if data, a FIN, an error
	// or a pending connection is already there. It fails (wrapping
	// syscall.EEXIST) if src is registered already.
	Register(src Source, tok Token, in Interest) error
	// Reregister changes src's token and interest, and reports its
	// current readiness for the new interest as Register does, for
	// interest it keeps as for interest it adds. It fails (wrapping
	// syscall.ENOENT) if src is not registered.
	Reregister(src Source, tok Token, in Interest) error
	// Deregister detaches src; no event for it is reported after it
	// returns, except those already in a batch returned by Poll. It fails
	// (wrapping syscall.ENOENT) if src is not registered.
	Deregister(src Source) error
	// Poll fills events[:n] with at most len(events) events and returns
	// n. It waits at most timeout for the first (timeout < 0 waits without
	// limit; 0 does not wait). n == 0 with a nil error means the timeout
	// passed or the kernel woke for its own reasons; ErrInterrupted with
	// n == 0 means poll again. A batch may hold spurious events, the same
	// token twice, and events for sources closed earlier in it; its order
	// is arbitrary.
	Poll(events []Event, timeout time.Duration) (int, error)
	// Now is a monotonic time from an arbitrary epoch. A server's timers
	// (idle, linger, accept back-off, shutdown) run from it and never from
	// the wall clock, so a simulated kernel controls time.
	Now() time.Duration
}
