// Package peer holds the three multi-echo servers the benchmarks compare,
// all speaking the same protocols (server.FramingLine and server.FramingMob)
// with the same contract: every complete frame goes to every connected
// client, the sender included, in one global order, and a client owed more
// than QueueBytesMax is disconnected.
//
//   - "mob": the server core of this repository on the real kernel
//     (netpoll), run by one goroutine; stopped with an atomic flag and
//     Poller.Wake.
//   - "goroutine": the idiomatic Go design — a reader goroutine and a writer
//     goroutine per connection, a hub that fans each batch of frames out
//     under one mutex (the global order), and a per-connection byte-budget
//     queue that the writer drains with one writev (net.Buffers) per batch.
//   - "gnet": a github.com/panjf2000/gnet/v2 event-loop broadcaster. With
//     gnet's default (Multicore false: one event loop) it writes to other
//     connections directly with Conn.Write, which is safe because every
//     callback runs on that one loop; with Multicore it uses AsyncWrite, the
//     concurrency-safe path gnet documents for writes from other loops.
//
// Each peer counts the frames it read, the deliveries it queued and the write
// calls it made at the application level (for mob these are exactly its
// write/writev system calls; for the others a lower bound, since the Go
// runtime and gnet may retry a short write internally).
package peer
