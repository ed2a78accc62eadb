// Package netrec records every call that crosses the kernel seam (package
// kernel) with its result, and replays a recording to the core in place of a
// kernel. The core talks to the kernel only through the seam, so what
// crosses it is all the input it has: a live run on real sockets, recorded,
// re-runs exactly, deterministically, as often as needed, under the same
// oracle as a simulated seed.
//
// A Recorder is a kernel.Poller that wraps any kernel (netpoll, netfake):
//
//	rec, err := netrec.Create(path, poller, netrec.Options{Config: cfgBytes, Batches: true})
//	srv, err := server.New(rec.Poller(), rec.Listener(ln), cfg) // cfg.Observer = netrec.Observer[server.CloseReason]{N: rec}
//	err = srv.Run(rec.Stop(stop))
//	err = rec.Close()
//
// A Replayer is a kernel.Poller that answers from a recording:
//
//	rp, err := netrec.Open(path, netrec.ReplayOptions{OnRecord: trace})
//	ln, err := rp.Listener()
//	srv, err := server.New(rp.Poller(), ln, cfgFrom(rp.Header().Config))
//	_ = srv.Run(rp.Stop)  // ends with Poll's error: ErrEnd, ErrStopped or the divergence
//	sum, err := rp.Finish() // nil: zero divergence over the whole recording
//
// A Reader iterates the records, for a trace printer or to feed an oracle
// without running the core.
//
// # What it guarantees
//
//   - Every call is passed to the wrapped kernel unchanged and its results
//     returned unchanged; the recorder only adds wrappers around listeners and
//     streams (Unwrap and ID reach through them). A stream has Writev in the
//     recording and the replay exactly when the kernel's stream has it; the
//     poller (Poller, with Options.Batches) has WriteBatch exactly when the
//     kernel has it (kernel.BatchWriter), and the replay's Poller when the
//     recording's kernel had it. A batch is given to the kernel with its
//     own streams in place of the recorder's and recorded write by write.
//   - Recording Read, Write, Writev, Poll and Now allocates nothing once the
//     block buffer has grown (TestRecordingDoesNotAllocate; BenchmarkRecordCall
//     reports 0 allocs/op). Errors other than would-block, interrupted and
//     EOF may allocate (their text is built); they are rare.
//   - The recording is bounded: it never grows past Options.LogBytesMax.
//     The record that would pass the cap is not written; a stop record is,
//     saying where and why, and later calls pass through unrecorded. A
//     crash loses at most the unflushed block (Options.BlockBytes).
//   - Recording is opt-in and files are created 0600, never over an existing
//     file: a recording holds every byte the clients sent.
//   - The replay reads no clock and starts no goroutine; a recording replays
//     to the same sequence of calls, results and hook calls every time.
//   - Damage is reported, never a panic: a bad magic (ErrNotRecording), another
//     format version (ErrVersion, naming both), a recording cut short
//     (ErrTruncated: everything before the lost block still replays), and a
//     block whose checksum or structure is wrong (ErrCorrupt, before any of
//     its records is used).
//
// # What a replay matches
//
// Each call the core makes is matched against the next record. It must be
// the same operation on the same source (sources are named by ids given in
// order of creation: listeners as handed to Recorder.Listener, streams as
// accepted), with the same inputs:
//
//   - Poll: the same timeout and the same len(events).
//   - Read: the same len(p). Equality, not "at least the recorded count":
//     a larger buffer could have been given more bytes by the kernel, a
//     smaller one would have cut the read; only an equal one makes the
//     recorded result the kernel's answer. A core that reads differently
//     has diverged.
//   - Write: the same len(p), and p's first n bytes equal to the n bytes the
//     live write took. The bytes past n were not recorded (a write that
//     would block records none), so they are not compared; the next call
//     re-offers them and is compared then.
//   - Writev: the same number of buffers, each of the same length, and the
//     first n bytes across them equal to those recorded.
//   - WriteBatch: the same number of writes, and each matched as a Writev
//     (its stream, its buffers up to the last non-empty one, its bytes);
//     the recorded count and error go back in each write.
//   - What is compared of the written bytes depends on the recording's
//     write mode (Options.Writes, see WriteMode): every byte
//     (WriteContents), their CRC-32C (WriteDigests, and the sampled writes
//     of WriteCounts), or nothing but the lengths (the other writes of
//     WriteCounts). Without contents the hooks (OnRecord, Observer) get
//     the replayed core's bytes, so an oracle still checks every one.
//   - Register, Reregister: the same token and interest. Deregister, Close,
//     CloseWrite, Accept, Now: the operation and source only.
//   - Note (with ReplayOptions.MatchNotes): the same kind, stream and
//     argument. Without it, recorded notes are passed over.
//   - Shutdown: Replayer.Stop reports true exactly where the live loop asked.
//
// It returns the recorded results: the batch, the bytes read, the count
// written, the error. The first call that does not match ends the replay
// with a *Divergence: the step (record index) and offset, the call the core
// made, the call recorded, what differs, and the recording and replaying
// builds (module version, VCS revision and modification, build tags,
// toolchain, target). Between two equal stamped builds a divergence means
// the core is not deterministic given its inputs; otherwise the binary
// differs. Every later call then fails with the same error, so the core's
// loop ends at its next Poll; a caller feeding an oracle from the core's own
// Observer should stop when Err is set.
//
// The end of a recording is reached in one of three ways. An end record
// (Recorder.Close) is a clean end when the core next asks the poller (Now
// or Poll): the live loop stops between ticks, and a tick starts with the
// poller; a Read, Write, Accept or other source call there is the middle of
// a tick the live core did not have, a divergence. A stop record (size cap) or a truncation
// may come at any call: the live run went on unrecorded; the core gets
// ErrStopped or the truncation error and the replay is complete up to there.
// Finish tells these apart, and reports a core that stopped while the
// recording goes on as a divergence.
//
// Errors come back so that the core's errors.Is checks answer as they did
// live: kernel.ErrWouldBlock, kernel.ErrInterrupted and io.EOF as themselves;
// the errnos the server and kernels use (ECONNRESET, EPIPE, EMFILE, ENFILE,
// ECONNABORTED, ENOBUFS, ENOTCONN, EINTR, EPROTO, EPERM, ENOMEM and a dozen
// more) by name, so a Linux recording replays on a BSD; any other errno by
// number when replayed on the recording's GOOS; anything else as its text
// alone. A wrapped error keeps its text ("netpoll: read peer=...: connection
// reset by peer") and unwraps to the errno. errors.As for the kernels' own
// error types does not survive a replay.
//
// # What the oracle can check from a recording
//
// A recording holds what the kernel told the server and what the server
// asked of it: accepts, every byte read (so every frame, in the global read
// order), every byte written to each stream (without WriteContents, the
// replayed core's bytes, checked against the digests where there are any), FINs read (io.EOF)
// and sent (CloseWrite), resets seen (errors), closes, the time, and the
// batches (ticks). With the core's membership claims (its Observer, live in
// the replay, or recorded as notes through the Observer adapter) that
// supports the simulator's checks of delivery (each member is written
// exactly the frames read while it was a member, in order, no gap, no
// duplicate, then at most one error frame), membership (each join, leave
// and close reason against the reads and errors that justify it,
// ConnsMax), memory (no connection further behind than QueueBytesMax
// between ticks), fairness (per-tick read, write and accept budgets),
// oversleeping (Poll timeouts against the server's deadlines and Now), the
// busy-loop part of liveness (ticks that poll without waiting and do
// nothing), output the server still owed when the recording ended, and the
// core's own Check after every tick.
//
// It cannot support what happens on the clients' side of the sockets: the
// rest of liveness (every client received everything written to it, and
// everything a client sent was read: a write the kernel accepted may still
// be lost to a reset or never read, and bytes still in flight or in the
// backlog are not in the recording), that the kernel carried the bytes
// unaltered, that a close with unread input reset the connection (the
// kernel does not say), and leaks inside the kernel. Those need the
// clients' record: cmd/mobsoak -record writes, beside the recording, what
// each client sent and received by count and CRC-32C, named by the
// recording's stream id (its Observer numbers streams by ID), and
// sim.Replay joins the two by connection (see sim.ReplayAccountChecks).
//
// # File format
//
// All integers are varints as in encoding/binary: uvarint for unsigned
// values, the zig-zag varint (binary.AppendVarint) for signed ones. A string
// is a uvarint length then its bytes.
//
//	recording = magic version block*
//	magic     = "MOBREC"
//	version   = uvarint (FormatVersion, now 4)
//	block     = uvarint length, 4-byte CRC-32C (Castagnoli, little-endian) of
//	            the payload, then length bytes of payload (1 to 128 MiB)
//
// The first block's payload is the header: module path, module version,
// vcs.revision, vcs.time (strings), vcs.modified (one byte, 0 or 1), build
// tags, Go version, GOOS, GOARCH (strings), the write mode (one byte: 0
// contents, 1 digests, 2 counts), a flags byte (bit 0: the core was given
// the kernel's WriteBatch), then the caller's config blob (string, at most 16
// MiB). Every later block's payload is a whole number of
// records; no record spans two blocks. A record is an op byte and its
// fields:
//
//	1  listen      id
//	2  now         delta (varint ns since the previous now record; the first from 0)
//	3  poll        timeout (varint ns), len(events), n, n x (token, ready byte), err
//	4  accept      listener id, err; if err is nil: new id, flags byte (bit 0: has Writev;
//	               bit 1: has UnackedBytes and Abort)
//	5  read        id, len(p), n, n bytes read, err
//	6  write       id, len(p), written, err
//	7  writev      id, buffer count, each buffer's length, written, err
//	8  close-write id, err
//	9  close       id, err (a listener or a stream)
//	10 register    id, token, interest byte, err
//	11 reregister  id, token, interest byte, err
//	12 deregister  id, err
//	13 note        kind, id (0: none), arg
//	14 shutdown    (no fields)
//	15 stop        reason (1: size cap, 2: record too large), text
//	16 end         record count before it
//	17 write-batch count, count x (id, buffer count (at most 4), each buffer's length, written, err)
//	18 unacked     id, err; if err is nil: the count
//	19 abort       id, err
//
// where written is, by the write mode (for a writev and each write of a
// batch, across its buffers in order): contents, n and the n bytes
// written; digests, n and their CRC-32C (4 bytes, little-endian); counts,
// n<<1|d, then the CRC-32C if d is 1 (the sampled writes,
// Options.DigestEvery).
//
// Ids are uvarints numbering sources from 1 in order of creation (a listen
// or a successful accept takes the next); a record may name only an id
// already created. A token is two uvarints, its high then its low 32 bits
// (the server's generation and slot take two or three bytes). An error is a
// uvarint code<<1|t: code 0 none, 1 would-block, 2 interrupted, 3 EOF, 4 an
// errno outside the named table (its number follows), 5 text only, 6 and up
// the named errnos in errnoTable's order; if t is 1 a string follows with
// the error's text (kept when it differs from the named value's own, cut at
// 512 bytes). Counts are checked against the block, so a corrupt length
// cannot make the reader allocate more than the block holds.
//
// A recording ends with an end record (closed) or a stop record (stopped
// early; the stop record is always written: the writer keeps room for it
// under the cap), and nothing after it. A recording without either was cut
// short.
//
// # Versioning
//
// FormatVersion changes with any change to the layout above: a new op, a
// new field, a new error code or errno in the table, a new header field. A
// reader reads its own version only and refuses others with both versions
// named (a *VersionError); there is no compatibility across versions, since
// a recording is replayed by the build that made it or a close one, and a
// converter is cheaper than a reader of every past version. Recordings are
// not an archive format.
package netrec
