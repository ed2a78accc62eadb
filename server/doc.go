// Package server is the multi-echo server core: every frame a client sends
// goes to every connected client, the sender included, in one global order.
//
// It is a single-threaded, edge-triggered event loop written only against the
// seam in package kernel, so the same code runs on real sockets (package netpoll)
// and on a deterministic fake kernel (package netfake). It starts no
// goroutines, reads no wall clock and draws no random numbers: given the
// same kernel behaviour it makes the same calls.
//
// What it guarantees:
//
//   - Tokens are (slot, generation). An event naming an unknown, freed or
//     reused slot is dropped and counted (Stats.StaleEvents), never a panic.
//   - A member is a connection accepted and not yet leaving. Each member
//     receives exactly the frames read while it was a member, in the order
//     the server read them, with no gap or duplicate; a connection that was
//     closed received a prefix of them.
//   - Frames a peer sent before its FIN are read and broadcast, and the peer
//     is still sent what it is owed before the server closes. So are the
//     frames a peer sent before a write to it failed (its reset): the next
//     tick reads them first, then closes the connection.
//   - Data flows one way in a tick: reads feed the broadcast log, then one
//     flush writes it out. A flush makes no read and closes no member, so
//     the fan-out never sees the member list or the log change under it.
//   - Memory is bounded as a whole: no connection is ever owed more than
//     QueueBytesMax (it is closed first, with a logged reason, abortively
//     so that its kernel send buffer goes with it), frames longer than
//     FrameBytesMax are refused, the buffers of frames still arriving hold
//     at most InputBytesMax together (at the budget the largest holder is
//     told why and leaves), a frame must complete within FrameTimeout of
//     its first byte, and at most ConnsMax connections are open.
//   - A close never loses output the peer is owed because the peer keeps
//     sending: a leaving connection is written everything, sent its FIN,
//     and closed at the peer's FIN or once the peer has acknowledged all
//     of it (kernel.UnackedCounter), within LingerTimeout, after a last
//     drain of its input to would-block or its FIN (past the tick's read
//     budget and the input rate, bounded by LingerBytesMax), so that the
//     close resets nothing it could have read; the linger cut
//     (LingerBytesMax) ends only a client that was sent its error frame and
//     does not take it, or one that acknowledged everything and goes on
//     sending.
//   - Flood control without loss: a connection is read at no more than
//     InputRateBytesPerSec (InputBurstBytes at once); a faster sender's
//     data waits in its socket until a timer resumes it.
//   - Idle time is counted in complete frames; a member made to leave for
//     a limit (idle, input-budget, frame-timeout) or a protocol error is
//     sent one "error: ..." frame saying why, after what it is owed.
//   - Reads drain to would-block or to a short read (the seam promises an
//     edge after either), and after a FIN or error hint to the stream's
//     end; accepts drain to would-block. Work a per-tick budget cuts short
//     is remembered, never left waiting for an edge the contract does not
//     promise. Output is coalesced: each tick makes at most one write
//     (writev) per connection unless the kernel takes less. Where the
//     poller offers kernel.BatchWriter, those writes go to the kernel as
//     one batch per tick (one io_uring_enter on Linux), with the same
//     results as made one by one.
//   - Accept errors never crash or spin: resource exhaustion pauses accepting
//     on a timer with exponential back-off; the backlog waits.
//   - Shutdown stops accepting, flushes what was accepted within
//     ShutdownTimeout, and closes each connection as soon as that is safe;
//     while it waits it logs, once a second, for whom and for what.
package server
