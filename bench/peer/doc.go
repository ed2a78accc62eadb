// Package peer holds the three multi-echo servers the benchmarks compare,
// all speaking the same protocols (server.FramingLine and server.FramingMob)
// with the same contract: every complete frame goes to every connected
// client, the sender included, in one global order, and a client owed more
// than QueueBytesMax is disconnected.
//
//   - "mob": the server core of this repository on the real kernel
//     (netpoll), run by one goroutine through internal/live, the runner
//     cmd/mob and the soak use (a bench module inside the main module's
//     path may import its internal packages).
//   - "goroutine": the idiomatic Go design — a reader goroutine and a writer
//     goroutine per connection, a hub that fans each batch of frames out
//     under one mutex (the global order), and a per-connection byte-budget
//     queue that the writer drains with one writev (net.Buffers) per batch.
//   - "gnet": a github.com/panjf2000/gnet/v2 event-loop broadcaster with
//     gnet's defaults (Multicore false: one event loop). OnTraffic cuts the
//     inbound buffer into frames and writes the batch to every member with
//     Conn.Write, which is safe because every callback runs on that one
//     loop. This is the straightforward design: one write per member per
//     sender's read.
//   - "gnet-batch": the same, but the batch is appended to a per-member
//     buffer and one flush task per loop iteration (EventLoop.Execute) makes
//     one Write per member for everything read in that iteration — what an
//     engineer tuning gnet for broadcast would do.
//   - "gnet-mc": gnet with Multicore (one loop per CPU); writes to other
//     loops' connections go through AsyncWrite, gnet's concurrency-safe path,
//     under a mutex that makes the order global.
//
// Each peer counts the frames it read, the deliveries it queued, and the
// read and write calls it made at the application level. For mob these are
// exactly its read, write and writev system calls, the reads that returned
// would-block included. For the others they are lower bounds: the Go runtime
// retries a would-block read or a short write inside one call, and gnet reads
// once per OnTraffic and may flush its outbound buffer on its own.
package peer
