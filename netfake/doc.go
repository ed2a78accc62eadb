// Package netfake is a deterministic fake kernel behind the seam of package
// kernel (kernel.Poller, kernel.Listener, kernel.Stream, kernel.VectorWriter,
// kernel.BatchWriter, kernel.UnackedCounter, kernel.Aborter). The
// simulator runs the real server core on it, drives clients from the other
// side, and checks what arrives.
//
// # What it models
//
//   - A server process: an fd table (fds from 3, the lowest free one reused
//     first, like Unix), a per-process fd limit (Config.FDMax, counting
//     listeners and accepted sockets), listening sockets with a bounded
//     accept queue, and one edge-triggered poller.
//   - TCP connections: each side has a receive and a send buffer of a
//     configured capacity (1 byte up). A write sends at once what the
//     peer's receive window has room for, as Linux's tcp_sendmsg pushes it
//     during the call: those bytes are on the wire, committed, and an RST
//     or FIN the sender makes later travels behind them, so an abort right
//     after a write cannot lose them. What does not fit waits in the send
//     buffer for the window (flow control). Bytes on the wire count against
//     the sender's send buffer until they arrive, which is also their
//     acknowledgement (Linux's sk_wmem_queued counts unacknowledged bytes).
//     A receive window that filled up opens again only once half the
//     buffer is free (receiver-side silly-window avoidance). The simulator
//     moves time on the wire: Step (every connection, in the order they
//     were established) sends what waited for a window that opened and
//     lets an rng-chosen part of the bytes on the wire arrive, as
//     segmentation would; Flush lets everything arrive that can; Transmit
//     lets exactly n bytes of one connection arrive. A FIN arrives after
//     the bytes before it, an RST after everything its sender had put on
//     the wire; an RST purges only what was still waiting.
//   - Client processes (Connect, *Client): the simulator's side, not
//     counted against FDMax and not server syscalls, but traced. A connect
//     to a full accept queue stays in progress and retries its SYN on the
//     virtual clock (Config.SYNRetry, doubling, Config.SYNRetries times),
//     as Linux does.
//   - A virtual clock: Now, Advance, and Poll's timeout (see Poll). SYN
//     retries fall due on it, and a Poll waiting with nothing ready
//     returns at the retry that gives its listener an edge.
//   - Work (Config.Work): the server's syscalls take time, a cost per
//     call and per byte plus an rng-drawn jitter, so the clock moves while
//     traffic flows and the server's deadlines fall due in the middle of
//     it; and after any server syscall a transmission step may run
//     (rng-chosen), so data, a FIN or an RST arrives between two calls of
//     one tick, not only between polls.
//   - Faults (FaultPlan, switchable with SetFaults): short reads and
//     short writes,
//     spurious events (not-ready, stale, never-used and duplicate tokens),
//     injected ECONNRESET and EPIPE (which really reset the connection on
//     both sides), EINTR from Poll, ECONNABORTED and EMFILE from Accept.
//   - A trace (SetTracer, Record) of every server syscall, client action,
//     event and transmission, and a running hash of it (Hash; FNV-1a
//     style, a word at a time).
//   - An Observer told every server-side result by connection id (never by
//     fd), for the simulator's oracle.
//
// # Edge modes
//
// EdgeLinux does what Linux's epoll and TCP do, as checked against real
// loopback sockets by the conformance suite (conformance_linux_test.go):
//
//   - every arrival re-arms readable, and a reported event carries the
//     socket's whole current mask (an arrival on a writable socket
//     registered for both reports readable and writable);
//   - writable follows sk_stream_is_writeable (free space at least half of
//     what is queued, bytes on the wire included), with an edge when an
//     acknowledgement makes that true after a writer ran out of room
//     (ErrWouldBlock, or a write cut short by a full buffer; not a short
//     write the fault plan made) or a poll found the socket not writable.
//     So a short write whose bytes fit the peer's window is followed by an
//     edge once they arrive, and one whose bytes wait behind a closed
//     window only after the peer has read half its buffer and enough has
//     left, as on loopback;
//   - Register and Reregister report whatever is ready at once;
//   - state changes wake the socket whatever the interest: a FIN (readable
//     with read-closed), an RST (everything, plus error and hang-up), the
//     acknowledgement of our own FIN, and every shutdown(2) call;
//   - a listener gets an edge per new connection.
//
// EdgeStrict gives only the edges the seam contract promises: readable when
// a receive buffer goes from empty to non-empty or a FIN or RST arrives (a
// Read that returns fewer bytes than asked has emptied the buffer, so the
// next arrival is such an edge, as the contract's drain-by-short-read
// clause promises; a Read that fills its buffer may leave bytes, and
// arrivals behind them make no edge); writable on (re)registration with
// write interest and after a write returned ErrWouldBlock, once writable
// again by the same threshold as Linux (earlier would not be a subset of
// Linux); a listener edge when its queue goes from empty to non-empty. A
// (re)registration with read interest also reports what is already there to
// read, as epoll and kqueue both do, unless Config.StrictNoInitialRead asks
// for the contract's letter, which does not promise it. Strict events are
// always a subset of Linux's for the same calls (TestStrictSubsetOfLinux,
// TestConformanceStrictSubset).
//
// Batches come in two shapes: BatchEpoll (one merged event per token) and
// BatchKqueue (read and write readiness as separate events, so a token can
// appear twice). Either way the order of a batch is rng-chosen, and edges
// beyond len(events) stay pending for the next Poll.
//
// # What it guarantees
//
//   - Determinism: every choice comes from the *rand.Rand given to New; no
//     goroutines, wall clock, global rand, or map iteration. The same seed,
//     configuration and calls give the same trace and Hash, in any process.
//   - Bytes are never corrupted, reordered, duplicated or dropped, except
//     as a real RST drops them: the bytes the sender still had waiting for
//     the window, and the resetter's unread ones (including bytes on the
//     wire to it: on Linux they would already sit in its receive queue).
//   - Steady-state syscalls allocate nothing (with no tracer set).
//
// # Linux semantics it keeps
//
//   - After an RST, bytes that had already arrived are still read first,
//     then ECONNRESET once, then io.EOF; writes fail with ECONNRESET (if
//     the error was not consumed yet) and then EPIPE.
//   - An RST after the peer's FIN (CLOSE_WAIT) sets EPIPE, not ECONNRESET,
//     and reads return io.EOF.
//   - Writing to a peer that closed succeeds once; the peer's kernel
//     answers with an RST and later writes fail.
//   - Close with unread received bytes sends an RST instead of a FIN,
//     behind the bytes already on the wire, so the peer reads those first.
//     Close with nothing unread leaves the bytes still waiting for the
//     window in the send buffer, going out as the peer reads (an orphan
//     holding its memory); Abort (SO_LINGER of zero) drops them at once
//     and sends the RST whatever is unread.
//   - UnackedBytes is SIOCOUTQ: what has not arrived (arrival is the
//     acknowledgement), waiting or on the wire, plus one for the FIN until
//     it arrives. With Config.NoUnacked it fails with ENOTSUP, as on a
//     kernel that cannot tell.
//   - Once both FINs have crossed (TIME_WAIT or CLOSED), an abort (Close
//     with unread bytes, a client's Reset) sends nothing, no error is
//     reported, writes fail with EPIPE and shutdown with ENOTCONN (it still
//     wakes the socket). Injected resets skip such connections.
//   - Accept checks the fd limit before the queue: EMFILE even when no
//     connection waits, and the queue is left alone.
//   - listen(backlog) admits backlog+1 connections (full only above the
//     backlog); a further SYN is dropped and the client retries it after
//     1 s, 2 s, 4 s... (six times, then ETIMEDOUT), completing on the
//     first retry that finds room, with a new listener edge. While the
//     connect is in progress the client's reads and writes would block.
//   - A listener that closes resets the connections still queued; a SYN
//     retry that finds it closed fails with ECONNREFUSED.
//   - At the seam, as netpoll does: Writev passes at most
//     kernel.WritevBufsMax non-empty buffers (a short count on a socket
//     that is still writable, with no edge to follow), and a zero-length
//     Write or Writev is no syscall (0, nil, and a pending error stays
//     pending). WriteBatch (kernel.BatchWriter) is its writes made one
//     after another with Writev: the same results, fault draws and trace
//     records, and no record of its own, so a batching server's trace is
//     that of the same writes made one by one.
//
// # Where it is harsher than Linux, on purpose
//
//   - A short read the fault plan makes (FaultShortRead) leaves bytes
//     behind, which no short read on Linux does (the seam's
//     drain-by-short-read clause). It leaves a readable edge pending for
//     them, so a caller that stops at it is not stranded; a caller that
//     closes right after it, trusting it to have emptied the socket,
//     resets the connection: before such a close, read to would-block.
//   - Strict mode, above. In particular: no edge for an arrival on unread
//     data, a FIN reported as read-closed without readable, an RST without
//     readable and writable, no edge for state changes, and no writable
//     edge after a short write that did not end in ErrWouldBlock. With
//     StrictNoInitialRead, no readable edge for data that arrived before
//     registration either (the server must then read after accept).
//   - Step lets rng-chosen parts of the bytes on the wire arrive, so
//     reads see every split of a frame (loopback delivers within the
//     write).
//   - Batch order is shuffled; Linux's ready list is roughly FIFO.
//   - Poll with a negative timeout returns 0 at once instead of waiting:
//     the simulator owns time, so "wait forever" means "return to it".
//   - Buffer sizes are exact byte counts, and bytes count against a send
//     buffer only until they arrive. Linux doubles SO_SNDBUF, counts skb
//     overhead and holds far more than SO_SNDBUF + SO_RCVBUF in flight
//     (measured on loopback with 4 KiB buffers: 32 KiB waiting behind a
//     full 10 KiB receive queue), so it accepts more before ErrWouldBlock,
//     and after the peer drains its first writable edge comes when the
//     queue is down to a fraction of what it held (between about 1/10 and
//     3/5 in those measurements); the fake's comes when the window reopens
//     at half the peer's buffer and the free space is half the queue. The
//     conformance suite compares whether an edge comes, not after how many
//     bytes.
//
// # Where it is simpler than Linux
//
//   - Arrival and acknowledgement are one step: no delayed ACK, no Nagle,
//     no congestion window, no windows beyond the receive buffer's free
//     space, no buffer auto-tuning. Linux gives a writable edge after
//     ErrWouldBlock without the peer reading when a (delayed) ACK frees
//     room; the fake gives it when bytes on the wire arrive, which Step
//     does in rng-chosen parts.
//   - The receive window reopens at half the buffer, as Linux does when
//     the MSS exceeds the buffer (loopback); a window update needs no
//     segment, and a read does not transmit: the next Step does.
//   - A connect's SYN either completes at once or is dropped: no SYN
//     queue, SYN cookies or half-open connections, and a retried SYN that
//     finds room completes. Shutting down a connect in progress abandons
//     it, as on Linux (reads then fail with ENOTCONN, writes with EPIPE).
//   - A FIN on the wire holds its sender in FIN_WAIT1, LAST_ACK or CLOSING
//     until it arrives (on loopback it arrives within the call). A
//     client's Reset in LAST_ACK or CLOSING sends nothing, as
//     tcp_disconnect does when nothing is left unsent; the FIN still
//     arrives.
//   - No addresses, ports, TIME_WAIT, urgent data, ENFILE or ENOBUFS.
//   - EINTR is only injected into Poll.
package netfake
