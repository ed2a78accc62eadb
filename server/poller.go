package server

import (
	"errors"
	"time"
)

// This file is the seam between the server core and a kernel. Two kernels
// implement it: netpoll (epoll/kqueue on real sockets) and netfake (a
// deterministic model). The contract is written once, here.
//
// # What a kernel must do
//
//   - Register, Reregister and Deregister attach a Source to the poller with a
//     Token and an Interest, change them, or detach them. Registration is
//     edge-triggered: the kernel reports a transition into readiness, not the
//     state of readiness.
//   - Registering (or reregistering) must report the readiness the source has
//     at that moment as an edge: with InterestWrite on a source that is
//     writable by the kernel's own measure (Linux: free send space at least
//     half of what is queued), a writable event (the initial writable
//     edge; a socket short of space gets it once it has room); with
//     InterestRead on a source that already holds data, a FIN, an error or
//     (for a listener) a pending connection, a readable event. epoll and
//     kqueue both do this, and it is guaranteed to the caller.
//   - Poll fills events[:n] with at most len(events) events and returns n. It
//     waits at most timeout for the first event (timeout < 0 waits without
//     limit; 0 does not wait). n == 0 with a nil error means the timeout
//     passed or the kernel woke for its own reasons.
//   - Now returns a monotonic time measured from an arbitrary epoch. All of the
//     server's timers (idle, linger, accept back-off, shutdown) run from it;
//     the server never reads the wall clock.
//   - Listener.Accept and the Stream methods never block. When the operation
//     cannot make progress now they return ErrWouldBlock and nothing else.
//   - Stream.Read returns io.EOF once the peer's FIN has been reached and all
//     data sent before it has been read. A reset connection yields an error
//     (typically wrapping syscall.ECONNRESET). Write may write fewer bytes
//     than asked (a short write) and must not raise SIGPIPE: writing to a
//     connection the peer has closed or reset yields an error (EPIPE or
//     ECONNRESET).
//   - VectorWriter.Writev follows Write's rules: it may write fewer bytes
//     than the buffers hold, returns ErrWouldBlock when it writes nothing,
//     and the writable guarantee below applies to it as to Write.
//   - Close releases the source and removes its registration. Events for it
//     that are already in a batch returned by Poll may still be delivered.
//
// # What is guaranteed to the caller
//
//   - Readable: after a readable event, reading until ErrWouldBlock (or EOF,
//     or an error) is the only way to be sure of a later readable event. If
//     the caller stops reading while data remains, no further readable event
//     is guaranteed for that data; it must remember the readiness itself.
//     The same holds for Accept and the listener.
//   - Writable: after a Write that returned ErrWouldBlock, a writable event is
//     guaranteed once the send side has room again, as long as write interest
//     is registered. Nothing else about writable events is guaranteed.
//   - Tokens come back exactly as registered. The kernel attaches no meaning to
//     them, except that it may reserve ReservedToken for itself (netpoll's
//     wake-up uses it); callers must not register that value.
//
// # What is not guaranteed
//
//   - Spurious events: an event may name a source that is not ready (a read
//     then returns ErrWouldBlock), a source that was closed earlier in the
//     same batch, or a token that was never registered. Callers must check a
//     token before using it and must tolerate ErrWouldBlock after any event.
//   - Merging: one token may appear more than once in a batch (kqueue reports
//     read and write readiness as separate events), and a batch's order is
//     arbitrary.
//   - Hints: ReadClosed, WriteClosed and Error are hints. A peer's FIN is only
//     certain when Read returns io.EOF, and a reset when Read or Write returns
//     an error. A hint may arrive without Readable; callers must still read,
//     because data sent before a FIN must not be lost.
//   - Extra edges: a kernel may report readiness more often than the contract
//     promises (Linux re-arms readable on every arrival). Callers must not
//     depend on those extra edges.
//   - Poll may return ErrInterrupted with n == 0. The caller polls again,
//     recomputing its timeout.

// Token is the caller's name for a registered source, returned in its events.
type Token uint64

// ReservedToken is the one token value a kernel may keep for itself.
const ReservedToken Token = 1<<64 - 1

// Interest is the set of readiness kinds a registration asks for.
type Interest uint8

// Interest bits.
const (
	InterestRead Interest = 1 << iota
	InterestWrite
)

// Ready is the set of readiness bits an event carries.
type Ready uint8

// Readiness bits. Only ReadyRead and ReadyWrite are guarantees; the others
// are hints (see the contract above).
const (
	ReadyRead Ready = 1 << iota
	ReadyWrite
	ReadyReadClosed
	ReadyWriteClosed
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

// ErrInterrupted is returned by Poll when the wait was interrupted before any
// event arrived (EINTR). It is not a failure.
var ErrInterrupted = errors.New("poll interrupted")

// Source is anything a Poller can watch.
type Source interface {
	// Close releases the source and removes its registration.
	Close() error
}

// Listener is a non-blocking listening socket.
type Listener interface {
	Source
	// Accept returns the next pending connection, already non-blocking, or
	// ErrWouldBlock when the backlog is empty. Other errors (EMFILE, ENFILE,
	// ECONNABORTED, ENOBUFS) wrap the corresponding syscall.Errno.
	Accept() (Stream, error)
}

// Stream is a non-blocking connected socket.
type Stream interface {
	Source
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	// CloseWrite sends a FIN; reading stays possible.
	CloseWrite() error
}

// VectorWriter is implemented by streams that can write several buffers in
// one call (writev). The server uses it when present to coalesce output.
type VectorWriter interface {
	Writev(bufs [][]byte) (int, error)
}

// Poller is the readiness half of a kernel. See the contract above.
type Poller interface {
	Register(src Source, tok Token, in Interest) error
	Reregister(src Source, tok Token, in Interest) error
	Deregister(src Source) error
	Poll(events []Event, timeout time.Duration) (int, error)
	Now() time.Duration
}
