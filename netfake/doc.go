// Package netfake is a deterministic fake kernel behind the seam of package
// kernel (kernel.Poller, kernel.Listener, kernel.Stream, kernel.VectorWriter). The
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
//     configured capacity (1 byte up). Write copies into the send buffer;
//     transmission moves bytes to the peer's receive buffer, only as many as
//     it has room for (flow control), then a FIN once the send buffer is
//     empty; RSTs overtake data. Transmission happens only when the
//     simulator calls Step (every connection in id order, an rng-chosen
//     amount per direction, as segmentation would), Flush (everything that
//     fits) or Transmit (exactly n bytes of one connection).
//   - Client processes (Connect, *Client): the simulator's side, not
//     counted against FDMax and not server syscalls, but traced.
//   - A virtual clock: Now, Advance, and Poll's timeout (see Poll).
//   - Faults (FaultPlan, switchable with SetFaults): short reads and writes,
//     spurious events (not-ready, stale, never-used and duplicate tokens),
//     injected ECONNRESET and EPIPE (which really reset the connection on
//     both sides), EINTR from Poll, ECONNABORTED and EMFILE from Accept.
//   - A trace (SetTracer, Record) of every server syscall, client action,
//     event and transmission, and a running hash of it (Hash; FNV-1a style, a word at a time).
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
//     what is queued), with an edge when that becomes true after a writer
//     ran out of room (ErrWouldBlock or a short write) or a poll found the
//     socket not writable;
//   - Register and Reregister report whatever is ready at once;
//   - state changes wake the socket whatever the interest: a FIN (readable
//     with read-closed), an RST (everything, plus error and hang-up), the
//     acknowledgement of our own FIN, and every shutdown(2) call;
//   - a listener gets an edge per new connection.
//
// EdgeStrict gives only the edges the seam contract promises: readable
// when a receive buffer goes from empty to non-empty or a FIN or RST
// arrives; writable on (re)registration with write interest and after a
// write returned ErrWouldBlock, once writable again by the same threshold
// as Linux (earlier would not be a subset of Linux); a listener edge when
// its queue goes from empty to non-empty. A (re)registration with read
// interest also reports what is already there to read, as epoll and kqueue
// both do, unless Config.StrictNoInitialRead asks for the contract's
// letter, which does not promise it. Strict events are always a subset of
// Linux's for the same calls (TestStrictSubsetOfLinux,
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
//     as a real RST drops them: the sender's unsent bytes and the
//     resetter's unread ones.
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
//   - Close with unread received bytes sends an RST instead of a FIN.
//   - Accept checks the fd limit before the queue: EMFILE even when no
//     connection waits, and the queue is left alone.
//   - A listener that closes resets the connections still queued.
//
// # Where it is harsher than Linux, on purpose
//
//   - Strict mode, above. In particular: no edge for an arrival on unread
//     data, a FIN reported as read-closed without readable, an RST without
//     readable and writable, no edge for state changes, and no writable
//     edge after a short write that did not end in ErrWouldBlock. With
//     StrictNoInitialRead, no readable edge for data that arrived before
//     registration either (the server must then read after accept).
//   - Step transmits rng-chosen parts, so reads see every split of a frame.
//   - Batch order is shuffled; Linux's ready list is roughly FIFO.
//   - A connect to a full accept queue is refused at once (Linux drops the
//     SYN and the client retries), and the bound is exact (Linux admits
//     one more).
//   - Poll with a negative timeout returns 0 at once instead of waiting:
//     the simulator owns time, so "wait forever" means "return to it".
//
// # Where it is simpler than Linux
//
//   - Transmission and acknowledgement are one step: no delayed ACK, no
//     Nagle, no windows beyond the receive buffer's free space, no buffer
//     auto-tuning, and capacities are exact byte counts (Linux doubles
//     SO_SNDBUF and counts skb overhead). Linux can therefore give a
//     writable edge after ErrWouldBlock without the peer reading (a delayed
//     ACK frees room); the fake gives it when a Step moves bytes that were
//     still waiting, which the harsh partial Step does often.
//   - No addresses, ports, TIME_WAIT, urgent data, ENFILE or ENOBUFS.
//   - EINTR is only injected into Poll.
package netfake
