// Command mobsoak is a bounded soak test of the live server on loopback.
//
// It runs the server (package server on package netpoll, through the
// runner cmd/mob uses, internal/live) in a child process, a re-execution
// of itself, and drives it for
// -duration with -clients connection slots. Each slot connects, behaves one
// way for a while, disconnects and connects again: chatty clients (with
// bursts, writes cut at random points), slow readers, clients that never
// read, resetters (a partial frame, then an RST), half-closers (a partial
// frame, then a FIN), idlers, senders of oversized or malformed headers,
// and slowloris clients that send a byte at a time. Clients bind to
// several 127.0.0.x source addresses so that churn cannot exhaust the
// ephemeral ports of one.
//
// The child's server has an Observer that streams, over a pipe, every
// connection's join (with the peer address), leave and close (with the
// reason) and every frame's key as the frame enters the global order. The
// parent matches each server connection to its client by address and
// feeds the shared oracle (package oracle, the specification the simulator
// and the property tests check too) with the server's claims and each
// client's account: the frames it completed sending, what it read (each
// body regenerated from its key and checked byte for byte), and how its
// stream ended. With no kernel record the oracle runs its client-side
// forms, so it checks:
//
//   - every client received a contiguous window of the global order that
//     starts where it joined, byte-exact, with no gap, duplicate or
//     reordering, then at most one error frame if it broke the framing; a
//     client closed by the server, or by itself, received a prefix of it;
//   - a client closed for a reason that promises the flush
//     (server.CloseReason.PromisesFlush) that read to the end of stream
//     received everything up to its leave, then the error frame if it had
//     broken the framing, then the end of stream;
//   - every sender's frames entered the order in its send order with no
//     gap, all of them when the server says it left for eof or a protocol
//     error;
//   - close reasons fit what the client did (a protocol error only after a
//     malformed frame, a reset only after the client closed or reset), and
//     this workload's expectations (no conns-limit, register-error or
//     shutdown during the run, idle only for idlers);
//   - at the end the clients still connected received everything and every
//     frame they sent entered the order, every connection the clients made
//     was accepted, and after they leave the server holds as many
//     descriptors as before the first client came.
//
// It then stops the child with SIGTERM and reports the frames relayed and
// verified, the violations, the server's peak RSS (VmHWM), its descriptors
// before and after, its CPU time and its close reasons. Exit status 0
// means no violation, 1 a violation or a failure to run, 2 a bad command
// line. The server fans out through io_uring where the kernel allows it,
// as mob does; -io-uring=false soaks the writev fallback instead (the
// report's write calls say how many went in batches either way).
//
// With -record FILE the child's server records every call it makes to the
// kernel (internal/live's recording, as mob -record), its streams numbered
// by the recording's ids, and the parent writes the clients' account
// beside it (FILE.clients: per connection, what its client sent and read,
// by count and CRC-32C, and how its stream ended), for mobsim -replay FILE
// to check the recorded side against. A run that finds a violation keeps
// both files and prints the replay command; a clean one deletes them
// unless -keep-record.
//
// Usage:
//
//	mobsoak -duration 60s -clients 500
//	mobsoak -duration 60s -clients 500 -record /tmp/soak.rec -keep-record
//
// The soft RLIMIT_NOFILE is raised to the hard limit; the child inherits it.
// Linux is needed for the /proc figures (RSS, descriptors, CPU time);
// elsewhere they are reported as unavailable and not checked.
package main
