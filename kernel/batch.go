package kernel

// BatchBufsMax is the most buffers one write of a batch carries: enough for
// a run of output that wraps around a ring buffer (two pieces) and a tail
// kept apart from it, with one to spare. The buffers are an array in the
// write, so a batch needs no slice of slices from the caller.
const BatchBufsMax = 4

// BatchWrite is one write of a batch and, once WriteBatch returns, its
// result. The caller fills Stream and Bufs; WriteBatch fills N and Err.
// A caller keeps one slice of them from tick to tick, so submitting a batch
// allocates nothing.
type BatchWrite struct {
	// Stream is the stream to write to. It must come from the kernel whose
	// WriteBatch is called; any other stream fails that write alone.
	Stream Stream
	// Bufs are written in order as by Writev; empty ones are skipped, and a
	// write whose buffers are all empty writes nothing and succeeds.
	Bufs [BatchBufsMax][]byte
	// N is the number of bytes written, from the start of Bufs: what Writev
	// would have returned.
	N int
	// Err is nil, ErrWouldBlock (nothing was written), or the error Writev
	// would have returned (EPIPE or ECONNRESET after the peer closed or
	// reset the connection, wrapped).
	Err error
}

// BatchWriter is implemented by kernels that can submit many writes, to
// any streams, at once (netpoll on Linux: one io_uring_enter for the whole
// batch, where Writev costs one system call per write). It is optional: a
// caller that finds no BatchWriter makes the same writes one at a time, and
// gets the same results.
type BatchWriter interface {
	// WriteBatch makes every write in ws and reports each in its N and Err,
	// as if the writes had been made one after another, each by Writev with
	// its Bufs on its Stream: the same short counts, ErrWouldBlock and
	// errors, never SIGPIPE, and a writable event guaranteed after a write
	// that returned ErrWouldBlock, as after Write. Writes to one stream are
	// made in slice order, the later one whatever the earlier returned;
	// writes to different streams are independent, and the order in which
	// they are made is not promised. It never blocks.
	WriteBatch(ws []BatchWrite)
}
