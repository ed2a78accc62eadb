// Package kernel is the seam between an event-loop server and the kernel it
// runs on: the interfaces a server calls (Poller, Listener, Stream,
// VectorWriter, BatchWriter, UnackedCounter, Aborter), the values that cross them (Token, Interest,
// Ready, Event, BatchWrite) and the two non-failure errors (ErrWouldBlock,
// ErrInterrupted).
//
// It holds no implementation. Package netpoll implements it on real sockets
// (epoll on Linux, kqueue on macOS and the BSDs); package netfake implements
// it as a deterministic model for simulation. A server written only against
// this package runs on both, which is what lets a simulator drive the real
// core through the orderings that break event loops. Package kerneltest
// checks an implementation against every clause below.
//
// The package imports nothing of its module, so another event-loop server
// can use both kernels without mob's core.
//
// # What a kernel must do
//
//   - Register, Reregister and Deregister attach a Source to the poller with
//     a Token and an Interest, change them, or detach them. Registration is
//     edge-triggered: the kernel reports a transition into readiness, not
//     the state of readiness.
//   - A registration belongs to the source, not to its descriptor number,
//     as with epoll_ctl: Register of a source that is registered fails with
//     an error wrapping syscall.EEXIST; Reregister and Deregister of a
//     source that is not (never was, was deregistered, or is a new source
//     that got the number of one closed while registered) fail with an
//     error wrapping syscall.ENOENT. After Reregister returns, events carry
//     the new token.
//   - Registering (or reregistering, for the interest it keeps as for the
//     interest it adds) reports the readiness the source has at that moment
//     as an edge: with InterestWrite on a source that is
//     writable by the kernel's own measure (Linux: free send space at least
//     half of what is queued), a writable event (the initial writable
//     edge; a socket short of space gets it once it has room); with
//     InterestRead on a source that already holds data, a FIN, an error or
//     (for a listener) a pending connection, a readable event. epoll and
//     kqueue both do this, and it is guaranteed to the caller.
//   - Poll fills events[:n] with at most len(events) events and returns n.
//     It waits at most timeout for the first event (timeout < 0 waits
//     without limit; 0 does not wait). n == 0 with a nil error means the
//     timeout passed or the kernel woke for its own reasons. Edges that do
//     not fit in events stay pending for a later Poll.
//   - A peer's FIN makes a readable event that carries ReadyReadClosed (with
//     read interest), and a reset an event that carries ReadyError (with
//     read or write interest): epoll's EPOLLRDHUP and EPOLLERR, kqueue's
//     EV_EOF on the read filter and EV_EOF with the error in fflags on
//     either filter. Every later event that reports the stream readable
//     carries them too, while the FIN or the error is unread: the caller
//     learns from them that a short read did not reach the stream's end.
//     They stay hints to the caller (below): the kernel must give them,
//     the caller must not rely on them alone.
//   - Now returns a monotonic time measured from an arbitrary epoch. A
//     server's timers run from it, so a simulated kernel controls time.
//   - Listener.Accept and the Stream methods never block. When the
//     operation cannot make progress now they return ErrWouldBlock and
//     nothing else.
//   - Stream.Read returns io.EOF once the peer's FIN has been reached and
//     all data sent before it has been read. A reset connection yields an
//     error (typically wrapping syscall.ECONNRESET). Write may write fewer
//     bytes than asked (a short write) and must not raise SIGPIPE: writing
//     to a connection the peer has closed or reset yields an error (EPIPE
//     or ECONNRESET).
//   - A zero-length Write, or a Writev whose buffers hold no bytes, is not
//     a write: it returns 0, nil without a system call, so it neither
//     reports nor consumes a pending error (a reset stays pending for the
//     next Read or Write). It cannot probe a connection.
//   - VectorWriter.Writev follows Write's rules: it may write fewer bytes
//     than the buffers hold, returns ErrWouldBlock when it writes nothing,
//     and the writable guarantee below applies to it as to Write. It passes
//     at most WritevBufsMax non-empty buffers (empty ones are skipped): a
//     Writev of more returns a short count at that boundary even when the
//     socket has room.
//   - BatchWriter.WriteBatch, where a kernel offers it, makes every write of
//     the batch and reports each in its element, exactly as if the writes
//     had been made one after another, each by Writev with its buffers on
//     its stream: the same short counts, ErrWouldBlock and errors (EPIPE,
//     ECONNRESET; never SIGPIPE), and the writable guarantee after each
//     write that returned ErrWouldBlock. Two writes for one stream are made
//     in slice order, the second whatever the first returned (after a short
//     first write the second's bytes follow, as with two Writev calls), so
//     a caller that needs its bytes contiguous gives each stream one write
//     per batch. Writes to different streams are independent and their
//     order is not promised. A batch never blocks. A kernel without
//     BatchWriter is complete: the caller makes the writes itself.
//   - Close releases the source and removes its registration. Events for it
//     that are already in a batch returned by Poll may still be delivered.
//     Closing a stream with input left unread resets the connection (TCP
//     sends an RST): what the peer has not acknowledged may be lost.
//   - UnackedCounter.UnackedBytes, where a kernel offers it (Linux, macOS,
//     FreeBSD), counts the bytes written to the stream that the peer has
//     not acknowledged, unsent ones included: 0 on a fresh stream, and 0
//     again once the peer's kernel holds everything written. A kernel that
//     counts the FIN as a byte (Linux) reports one more from CloseWrite
//     until the peer acknowledges the FIN. It never blocks.
//   - A byte the peer has acknowledged survives a reset that follows:
//     after CloseWrite and UnackedBytes reporting 0, Close with input
//     unread does not stop the peer reading every byte written (then
//     io.EOF, or the reset). This is what lets a server close a peer that
//     keeps sending as soon as it has everything, instead of waiting for
//     its FIN.
//   - Aborter.Abort, where a kernel offers it, closes the stream at once
//     with a reset (SO_LINGER of zero): the registration goes as with
//     Close, the kernel frees the stream's buffers at once, and the peer
//     reads what it had already received, then a reset (ECONNRESET), never
//     io.EOF unless it had received a FIN before. Without it, Close leaves
//     unsent bytes to the kernel, which keeps them (and their memory) for
//     as long as it retries a peer that does not read.
//
// # What is guaranteed to the caller
//
//   - Readable: after a readable event, reading until ErrWouldBlock (or
//     EOF, or an error) makes sure of a later readable event. If the
//     caller stops reading while data remains, no further readable event
//     is guaranteed for that data; it must remember the readiness itself.
//     The same holds for Accept and the listener.
//   - Drain by short read, for streams: a Read that returns n > 0 bytes
//     and a nil error with n < len(p), where p is the buffer passed to
//     that call (a caller that cuts p to a per-tick budget asked for the
//     cut length, not for its budget or its buffer's size), left nothing
//     to read when it returned, so the next byte to arrive makes a new
//     readable edge, as after ErrWouldBlock (epoll(7) promises it for
//     stream sockets; kqueue's EV_CLEAR behaves the same). A Read that
//     fills p promises nothing: bytes may remain, with no edge for them.
//     It does not hold for Accept, for a zero-length Read, or for a Read
//     that returned an error.
//   - A short read ends the bytes, not the stream: a FIN or a reset that
//     arrived with them is still pending after it, and no edge will come
//     for it, because it has arrived already. An event that reports a
//     stream readable after its FIN or reset arrived carries the hint,
//     ReadyReadClosed or ReadyError (epoll computes EPOLLRDHUP and
//     EPOLLERR, kqueue EV_EOF and its fflags, when Poll reports the
//     event), so a caller that stops at short reads must remember the
//     hints of the events it took for a stream, in this batch or an
//     earlier one: after one, it reads until io.EOF, an error or
//     ErrWouldBlock. A FIN or reset that arrives after the event was
//     reported makes an edge of its own.
//   - Writable: after a Write that returned ErrWouldBlock, a writable event
//     is guaranteed once the send side has room again, as long as write
//     interest is registered. Nothing else about writable events is
//     guaranteed: in particular none after a short write (a full buffer,
//     or Writev's WritevBufsMax cap), so a caller with bytes left writes
//     again until ErrWouldBlock.
//   - Tokens come back exactly as registered. The kernel attaches no
//     meaning to them, except that it may reserve ReservedToken for itself
//     (netpoll's wake-up uses it); callers must not register that value. A
//     kernel that reserves it rejects it in Register and Reregister and
//     never reports it; one that does not treats it as any token.
//
// # What is not guaranteed
//
//   - Spurious events: an event may name a source that is not ready (a
//     read then returns ErrWouldBlock), a source that was closed earlier in
//     the same batch, or a token that was never registered. Callers must
//     check a token before using it and must tolerate ErrWouldBlock after
//     any event.
//   - Merging: one token may appear more than once in a batch (kqueue
//     reports read and write readiness as separate events), and a batch's
//     order is arbitrary.
//   - Hints: ReadyReadClosed, ReadyWriteClosed and ReadyError are hints. A
//     peer's FIN is only certain when Read returns io.EOF, and a reset when
//     Read or Write returns an error. A hint may arrive without ReadyRead;
//     callers must still read, because data sent before a FIN must not be
//     lost.
//   - Extra edges: a kernel may report readiness more often than the
//     contract promises (Linux re-arms readable on every arrival). Callers
//     must not depend on those extra edges.
//   - Poll may return ErrInterrupted with n == 0. The caller polls again,
//     recomputing its timeout.
package kernel
