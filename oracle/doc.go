// Package oracle is the specification of what every client of the
// multi-echo server is owed, written once and checked over a history from
// any world: the simulator (package sim, from the fake kernel's record),
// the property tests (package properties) and the live soak
// (cmd/mobsoak, from its clients and the server's Observer).
//
// # The history
//
// A history is a sequence of facts, fed to an Oracle by plain method calls
// in the order the world saw them, so that a recording can be replayed
// into it as easily as a simulator calls it live. Facts come from three
// sources, and a world supplies what it has (Config says which):
//
//   - The kernel's record of the server's syscalls: AcceptCall (each
//     accept and what it returned), Accepted, ReadCall (each read), Read
//     (the bytes it returned), ReadEOF, WriteCall (each write, and whether
//     a full buffer cut it), Wrote (the bytes it took), ShutWrite (the
//     server's FIN) and Reset; what reached the server's sockets (Arrived)
//     and, where the world knows, what the kernel lost of the server's
//     output (Lost); with the server's ticks (TickBegin, PollWaits with
//     the wait it asks for, Polled, TickEnd) and its clock (Config.Clock).
//   - The server's claims, through its Observer: Joined, Left, Closed and
//     Frame; and the world's ShutdownBegan.
//   - The clients' account: ClientConnected, ClientSent, ClientReceived,
//     ClientEnded and ClientGone. A live world may report it late.
//
// Every claim is checked against the other sources; no claim is taken on
// trust. The first violation is kept (Violation), or every one is reported
// (Config.Report).
//
// # The promise
//
// Framing. A client's byte stream is cut into frames by the server's
// framing (line or mob, bodies up to FrameBytesMax). The first malformed
// frame (frame-too-large, bad-header) is a protocol error of that client
// alone; nothing it sends after it counts.
//
// Global order. Every frame the server reads from a member enters one
// global order, in the order read, and the server claims each (Frame) as
// it enters: the claim is the next frame cut from the server's reads of
// that connection, whole and unchanged, and with no kernel record, the next
// frame its client completed sending. Before the server reads again, every
// frame of the last read is claimed; a frame of a connection it tears down
// meanwhile (reset, write-error, queue-limit) is dropped with it.
//
// Membership. A member is a connection that joined and has neither left
// nor been closed. The server joins only connections it accepted, at most
// ConnsMax open at once; one it turns away at ConnsMax never joins and is
// sent at most one frame, "error: server full (N connections)". Only a
// member's frames enter the order.
//
// Delivery. A connection that joined at offset j of the order is owed every
// frame from j on while a member, frames j up to its leave point once it
// left, then, if it left for a reason that tells why (a protocol error,
// idle, input-budget, frame-timeout), one "error: ..." frame, and nothing
// else. A member that keeps reading receives all of it, whatever it sends
// meanwhile: no close reason excuses a loss the peer did nothing to cause.
// Only its own doing does (a reset, falling QueueBytesMax behind, not
// taking its output within LingerTimeout or the shutdown deadline,
// ignoring its error frame: linger-bytes). What the server writes to it,
// and what its client receives, is always a prefix of that, with no gap, duplicate or
// reordering. Prefix on close: a close says how much of it the connection
// got.
//
// Close reasons. What each reason promises is server.CloseReason's (the
// one place that says which reasons promise a full flush: PromisesFlush,
// IsLeave, IsProtocolError, FollowsLeave, Aborts, Rejects). A close that
// promises the flush (eof, frame-too-large, bad-header, idle, input-budget,
// frame-timeout, shutdown) comes after the connection left and was written
// its whole window, then its whole error frame, destroys none of it (an
// RST after it may destroy only what the peer had acknowledged), and
// leaves behind no input the server could have read: bytes that had
// reached its socket before its last read of it, or before the tick
// began. A close that resets (queue-limit, linger-bytes) leaves the kernel
// no send buffer (Released). The server's FIN to a connection that joined
// carries the same promise. When the server may give each reason is
// reasons.go's tables, which read as the rules, for members and leavers
// alike: eof after it read the peer's EOF; a protocol error after the
// input shows it; idle after IdleTimeout without a complete frame;
// input-budget for a member holding an unfinished frame; frame-timeout
// FrameTimeout after its unfinished frame began; shutdown during a
// shutdown; reset and write-error after the kernel reported an error and
// the server read what had reached the socket (the frames a client sent
// before its reset are not lost); queue-limit only for a connection still
// owed part of its window and more than QueueBytesMax behind; conns-limit
// with ConnsMax open, after the whole "server full" line was written (a
// full send buffer may cut it); linger-timeout LingerTimeout after the
// leave; shutdown-timeout ShutdownTimeout into a shutdown; linger-bytes
// after more than LingerBytesMax was read since the leave, once the
// window, any error frame and the FIN were written, and, unless it left
// for a protocol error (it ignores its error frame), destroying none of
// it (the peer acknowledged everything: it is owed nothing); every close
// of one that joined after its leave, except the teardowns.
//
// Memory. Between two ticks no open connection with output owed is more
// than QueueBytesMax behind the order, and the members' unfinished frames
// hold no more than InputBytesMax together.
//
// Fairness. Within one tick the server makes at most AcceptsPerTickMax
// accept calls, and for each connection at most WriteCallsPerTickMax write
// calls and ReadBytesPerTickMax bytes read; over time it reads no
// connection faster than InputRateBytesPerSec, with InputBurstBytes at once
// (a token bucket that earns exactly), except a connection whose write
// failed, which it drains to close. The last drain of a leaver before its
// close (at a deadline, or once its peer acknowledged everything) may read
// past the tick's budget and the rate, to see the peer's FIN or
// would-block (its input must not be left unread), but not more than
// LingerBytesMax+1 past the budget.
//
// Timing (timing.go). The server reads its clock once per tick, when its
// poll returns. Idle and frame-timeout leaves, linger and shutdown closes
// and the end of an accept back-off come neither before their deadline
// nor after the first tick whose time has reached it (idle time counts
// complete frames: bytes of a frame that never completes keep no member
// from being idle); a poll never asks to wait past the earliest such
// deadline, nor forever while one is pending; and a tick that follows a
// wait the world cut short (the simulator's poll cap) acts on no timer,
// or the server would have slept past a deadline of its own. The accept
// back-off lasts AcceptBackoffMin after a successful accept, doubles with
// each further resource error, is at most AcceptBackoffMax, and no accept
// call is made while it lasts.
//
// Liveness. The server never spins: not more than 1000 ticks in a row that
// poll without waiting, get nothing and do nothing. Once the world has
// settled (Stuck), every client still connected was accepted (unless no
// descriptor was free), every member has been read all its client sent and
// has been written, and has received, all it is owed, no member is still
// open long past IdleTimeout without input, and no connection that left is
// still open.
//
// Kernel fidelity. The server reads what its clients sent, and its clients
// receive what the server wrote, in order, up to an end of stream, or a
// reset, that follows everything written but what the kernel reports lost
// (without such reports, only an end of stream is checked).
//
// # What each history can show
//
// With the kernel's record (the simulator, the properties; a recording of
// real sockets, later) every rule above is checked as the facts arrive.
// Without it (the live soak) the oracle has only the server's claims and
// the clients' account: delivery is checked at the clients, against the
// order as far as it is known (a receipt the order has not caught up with
// waits for it); claims against what the clients sent, once they say; and
// the close rules in their client-side forms once a connection is over
// (the client read its window whole at an end of stream after a close
// that promises the flush; a protocol-error close follows a malformed
// frame; a reset follows the client's own close or reset). The timing
// rules need the server's clock and are off without it.
//
// # Tolerances: what the oracle cannot check, and why
//
//   - A teardown (reset, write-error, queue-limit) and a close that ends a
//     leave early (linger-timeout, shutdown-timeout, linger-bytes) promise
//     only a prefix; each needs the peer's own doing (see Delivery), which
//     its precondition checks. A queue-limit teardown drops the member's
//     unread input with it, by design.
//   - A close that promises the flush may still reset the connection when
//     input arrived after the server's last read of it (a peer still
//     sending as the server closes: no server wins that race). Where the
//     world reports lost output (Config.Losses: the fake kernel does) such
//     an RST is a violation only if it destroyed output the client had not
//     received, at any time (a late close counts as graceful only once the
//     peer acknowledged everything).
//   - Past LingerBytesMax a leaver may still be read, at its input rate:
//     while it is owed output, or while its peer is still acknowledging
//     its error frame. The oracle does not see acknowledgements, so it
//     does not require the cut at once (only that no cut costs the peer
//     output it was owed).
//   - The "server full" line may be cut by the kernel: a send buffer too
//     small to take it in one write, or a receive window too small to take
//     it before the RST that the rejected client's unread input causes.
//     Linux's smallest buffers hold it; the fake kernel's draw smaller ones
//     on purpose. Anything else short of the whole line is a violation.
//   - Without a kernel record there is no kernel fidelity, fairness, memory
//     or timing check, and no check that the server read an EOF, a
//     malformed frame or a reset before acting on it: a live history sees
//     the server from outside. Nor can it tell what reached the server: a
//     resetting client's last bytes may never have left its machine, so
//     only what the server read of a resetter is owed to the order. An RST
//     that the server's own close sends is seen only where the kernel
//     reports it (the fake kernel does; a recording of real sockets cannot).
//   - The world's facts are taken as true: ids name one connection each, and
//     facts arrive in the order they happened (a live world's late client
//     reports excepted, which is why they wait).
//
// # Adding a check
//
// A rule about when a reason may be given is a precondition in reasons.go
// (it names its invariant and the sources it reads, so a history that lacks
// them skips it); a rule about a fact goes with that fact (kernel.go,
// claims.go, clients.go); a rule between ticks in tick.go; a rule that
// holds once the world settles in liveness.go. Each names its invariant
// from the list in oracle.go, and has a test in oracle_test.go that feeds a
// history breaking it.
//
// Determinism: no goroutine, clock, global random source or map iteration;
// the same history gives the same violations.
package oracle
