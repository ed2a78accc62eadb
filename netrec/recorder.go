package netrec

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"time"

	"github.com/mobsim/mobsim/kernel"
)

// Defaults for Options.
const (
	// DefaultLogBytesMax is the size cap when Options.LogBytesMax is 0.
	DefaultLogBytesMax = 1 << 30
	// DefaultBlockBytes is the block size when Options.BlockBytes is 0.
	DefaultBlockBytes = 64 << 10
)

// Options configure a Recorder.
type Options struct {
	// Config is stored in the header as given: the caller's encoding of
	// everything the core was built with (cmd/mob passes its server
	// configuration), so a replay can build the same core. At most 16 MiB.
	Config []byte
	// LogBytesMax caps the recording's size in bytes, header included;
	// 0 means DefaultLogBytesMax. When the next record would pass it, a stop
	// record says where and why, and later calls pass through unrecorded.
	LogBytesMax int64
	// BlockBytes is the size in bytes at which buffered records are written
	// out as one block: the memory the recorder holds, and the most a crash
	// loses (Flush writes a block early). 0 means DefaultBlockBytes.
	BlockBytes int
	// Writes says what a Write or Writev record keeps of the bytes the
	// call took: all of them (WriteContents, the zero value), their
	// CRC-32C (WriteDigests), or only the count (WriteCounts, with a CRC
	// on every DigestEvery-th write). The count is the kernel's answer, all
	// a replay needs: the replayed core makes the bytes again from the
	// reads, hands them to the hooks, and the oracle checks them. See
	// WriteMode for what each costs and detects.
	Writes WriteMode
	// DigestEvery, with WriteCounts, gives every DigestEvery-th write
	// record (counting Write and Writev records from 0) the CRC-32C of its
	// bytes, so a replay compares a sample of the output byte for byte as
	// well; 0 means none. Other modes ignore it.
	DigestEvery int
	// Batches offers the core the wrapped kernel's batched writes
	// (kernel.BatchWriter), if it has them: build the core on Poller(),
	// which then has WriteBatch, and each batch is recorded. The header
	// says so, and a replay's Poller offers WriteBatch too, so the
	// replayed core writes as the live one did. Without it (or when the
	// kernel has no batches) the core is given none.
	Batches bool
	// Build is written to the header; nil means CurrentBuild(). Tests use
	// it to make recordings of other builds.
	Build *Build
}

// Recorder is a kernel.Poller that passes every call to the kernel it wraps
// and writes the call and its result to a recording. Listeners given to
// Listener, and the streams they accept, are recorded the same way; the
// sources the core sees are the recorder's wrappers.
//
// Like the seam, a Recorder is used by one goroutine (the event loop).
type Recorder struct {
	inner   kernel.Poller
	log     *logWriter
	writes  WriteMode
	every   uint64 // Options.DigestEvery (WriteCounts)
	nwrites uint64 // write records so far: the sample's clock

	batcher  kernel.BatchWriter // the kernel's, if it has one (see Poller)
	batchSrc []kernel.Stream    // the core's streams of the batch being made
	file     *os.File           // set by Create: closed by Close
	nextID   uint64
	lastNow  time.Duration
	closed   bool
}

var _ kernel.Poller = (*Recorder)(nil)

// RecorderStats describe a recording so far.
type RecorderStats struct {
	Records    uint64 // records written (the step of the next one)
	Bytes      int64  // bytes written, plus the records still buffered (block headers aside)
	Stopped    bool   // no more records: stopped early, closed, or a write failed
	StopReason StopReason
	StopText   string // the stop record's text
	Err        error  // the first write error
}

// Create creates the file path, refusing one that exists, with permissions
// 0600 (a recording holds every byte the clients sent), and records to it.
func Create(path string, inner kernel.Poller, opt Options) (*Recorder, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("netrec: create recording: %w", err)
	}
	r, err := NewRecorder(f, inner, opt)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	r.file = f
	return r, nil
}

// NewRecorder records calls to inner on w, writing the header at once.
func NewRecorder(w io.Writer, inner kernel.Poller, opt Options) (*Recorder, error) {
	if opt.LogBytesMax == 0 {
		opt.LogBytesMax = DefaultLogBytesMax
	}
	if opt.BlockBytes == 0 {
		opt.BlockBytes = DefaultBlockBytes
	}
	if opt.BlockBytes < 0 || opt.BlockBytes > blockBytesLimit/2 {
		return nil, fmt.Errorf("netrec: BlockBytes is %d; it must be in 1..%d", opt.BlockBytes, blockBytesLimit/2)
	}
	if opt.Writes >= writeModeCount {
		return nil, fmt.Errorf("netrec: write mode %d is not one of contents, digests, counts", opt.Writes)
	}
	if opt.DigestEvery < 0 {
		return nil, fmt.Errorf("netrec: DigestEvery is %d; it must be 0 (none) or more", opt.DigestEvery)
	}
	if len(opt.Config) > configBytesMax {
		return nil, fmt.Errorf("netrec: config is %d bytes; at most %d are kept", len(opt.Config), configBytesMax)
	}
	b := CurrentBuild()
	if opt.Build != nil {
		b = *opt.Build
	}
	l := newLogWriter(w, opt.BlockBytes, opt.LogBytesMax)
	pre := binary.AppendUvarint([]byte(magic), FormatVersion)
	var batcher kernel.BatchWriter
	if opt.Batches {
		batcher, _ = inner.(kernel.BatchWriter)
	}
	hdr := appendHeader(nil, b, opt.Writes, batcher != nil, opt.Config)
	if need := int64(len(pre)+blockHeaderBytesMax+len(hdr)) + stopRecordBytesMax; need > opt.LogBytesMax {
		return nil, fmt.Errorf("netrec: LogBytesMax (%d bytes) cannot hold the header and the stop record (%d bytes)", opt.LogBytesMax, need)
	}
	n, err := w.Write(pre)
	l.flushed = int64(n)
	if err != nil {
		return nil, fmt.Errorf("netrec: write recording header: %w", err)
	}
	l.buf = append(l.buf, hdr...)
	l.flush()
	if l.err != nil {
		return nil, l.err
	}
	r := &Recorder{inner: inner, log: l, writes: opt.Writes, batcher: batcher}
	if opt.Writes == WriteCounts {
		r.every = uint64(opt.DigestEvery)
	}
	return r, nil
}

// appendHeader writes the header block's payload: the build, the write
// mode, then the caller's config.
func appendHeader(p []byte, b Build, writes WriteMode, batch bool, config []byte) []byte {
	for _, s := range [...]string{b.Module, b.Version, b.Revision, b.Time} {
		p = appendString(p, truncate(s, headerFieldBytesMax))
	}
	p = append(p, boolByte(b.Modified))
	for _, s := range [...]string{b.Tags, b.GoVersion, b.GOOS, b.GOARCH} {
		p = appendString(p, truncate(s, headerFieldBytesMax))
	}
	p = append(p, byte(writes))
	p = append(p, boolByte(batch)) // the flags byte: bit 0, the kernel writes batches
	return appendBytes(p, config)
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Stats returns the recording's counters.
func (r *Recorder) Stats() RecorderStats {
	l := r.log
	return RecorderStats{Records: l.records, Bytes: l.written(), Stopped: l.stopped,
		StopReason: l.stop, StopText: l.stopText, Err: l.err}
}

// Flush writes the buffered records out as a block now: what a crash would
// lose is then only what is recorded after it.
func (r *Recorder) Flush() error {
	if !r.log.stopped {
		r.log.flush()
	}
	return r.log.err
}

// Close writes the end record, flushes, and closes the file if Create opened
// it. It does not close the wrapped poller. A second Close does nothing.
//
// Close only once the loop has stopped between ticks: the end record says
// so, and a replay holds the core to it. After a panic in the core, Flush
// instead (the recording then reads as cut short, which it was).
func (r *Recorder) Close() error {
	if r.closed {
		return r.log.err
	}
	r.closed = true
	err := r.log.end()
	if r.file != nil {
		if cerr := r.file.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("netrec: close recording: %w", cerr)
		}
	}
	return err
}

// start begins a record of kind op, returning where it starts in the
// buffer; ok is false once recording has stopped.
func (r *Recorder) start(op Op) (int, bool) {
	if r.log.stopped {
		return 0, false
	}
	at := len(r.log.buf)
	r.log.buf = append(r.log.buf, byte(op))
	return at, true
}

// sourceRecord records a call that names a source and returns only an
// error: CloseWrite, Close, Deregister.
func (r *Recorder) sourceRecord(op Op, id uint64, err error) {
	at, ok := r.start(op)
	if !ok {
		return
	}
	l := r.log
	l.buf = binary.AppendUvarint(l.buf, id)
	l.buf = appendErr(l.buf, err)
	l.commit(at)
}

// dataRecord records a Read or Write: the buffer's length, the count, the
// bytes moved (the first n of p) or, for a write, what the write mode keeps
// of them, and the error.
func (r *Recorder) dataRecord(op Op, id uint64, p []byte, n int, err error) {
	at, ok := r.start(op)
	if !ok {
		return
	}
	n = min(max(n, 0), len(p))
	l := r.log
	l.buf = binary.AppendUvarint(l.buf, id)
	l.buf = binary.AppendUvarint(l.buf, uint64(len(p)))
	switch {
	case op == OpRead || r.writes == WriteContents:
		l.buf = appendBytes(l.buf, p[:n])
	case r.writes == WriteDigests:
		l.buf = binary.AppendUvarint(l.buf, uint64(n))
		l.buf = binary.LittleEndian.AppendUint32(l.buf, crc32.Checksum(p[:n], crcTable))
	default:
		if r.sampled() {
			l.buf = binary.AppendUvarint(l.buf, uint64(n)<<1|1)
			l.buf = binary.LittleEndian.AppendUint32(l.buf, crc32.Checksum(p[:n], crcTable))
		} else {
			l.buf = binary.AppendUvarint(l.buf, uint64(n)<<1)
		}
	}
	l.buf = appendErr(l.buf, err)
	l.commit(at)
}

// sampled counts a write record in WriteCounts mode and reports whether it
// carries a digest: every DigestEvery-th, from the first. A record the cap
// takes back still counts; the flag in each record, not this clock, tells
// a reader which have one.
func (r *Recorder) sampled() bool {
	i := r.nwrites
	r.nwrites++
	return r.every > 0 && i%r.every == 0
}

// Listener wraps ln so that its accepts, and the streams they return, are
// recorded. Call it before building the core, in the order the replay will
// ask Replayer.Listener.
func (r *Recorder) Listener(ln kernel.Listener) kernel.Listener {
	r.nextID++
	l := &recListener{r: r, in: ln, id: r.nextID}
	if at, ok := r.start(OpListen); ok {
		r.log.buf = binary.AppendUvarint(r.log.buf, l.id)
		r.log.commit(at)
	}
	return l
}

// Register records and passes on a registration.
func (r *Recorder) Register(src kernel.Source, tok kernel.Token, in kernel.Interest) error {
	inner, id := unwrap(src)
	err := r.inner.Register(inner, tok, in)
	r.regRecord(OpRegister, id, tok, in, err)
	return err
}

// Reregister records and passes on a change of registration.
func (r *Recorder) Reregister(src kernel.Source, tok kernel.Token, in kernel.Interest) error {
	inner, id := unwrap(src)
	err := r.inner.Reregister(inner, tok, in)
	r.regRecord(OpReregister, id, tok, in, err)
	return err
}

func (r *Recorder) regRecord(op Op, id uint64, tok kernel.Token, in kernel.Interest, err error) {
	at, ok := r.start(op)
	if !ok {
		return
	}
	l := r.log
	l.buf = binary.AppendUvarint(l.buf, id)
	l.buf = appendToken(l.buf, tok)
	l.buf = append(l.buf, byte(in))
	l.buf = appendErr(l.buf, err)
	l.commit(at)
}

// Deregister records and passes on a deregistration.
func (r *Recorder) Deregister(src kernel.Source) error {
	inner, id := unwrap(src)
	err := r.inner.Deregister(inner)
	r.sourceRecord(OpDeregister, id, err)
	return err
}

// Poll records the timeout asked, the room given, and the batch returned.
func (r *Recorder) Poll(events []kernel.Event, timeout time.Duration) (int, error) {
	n, err := r.inner.Poll(events, timeout)
	at, ok := r.start(OpPoll)
	if !ok {
		return n, err
	}
	k := min(max(n, 0), len(events))
	l := r.log
	l.buf = binary.AppendVarint(l.buf, int64(timeout))
	l.buf = binary.AppendUvarint(l.buf, uint64(len(events)))
	l.buf = binary.AppendUvarint(l.buf, uint64(k))
	for _, ev := range events[:k] {
		l.buf = appendToken(l.buf, ev.Token)
		l.buf = append(l.buf, byte(ev.Ready))
	}
	l.buf = appendErr(l.buf, err)
	l.commit(at)
	return n, err
}

// Now records the time, as the difference from the previous Now.
func (r *Recorder) Now() time.Duration {
	now := r.inner.Now()
	if at, ok := r.start(OpNow); ok {
		r.log.buf = binary.AppendVarint(r.log.buf, int64(now-r.lastNow))
		r.lastNow = now
		r.log.commit(at)
	}
	return now
}

// Note records an annotation about st (nil or a stream the recorder did not
// wrap is written as id 0): what the core claimed, for a replay to check or
// hand to the oracle. Observer adapts server.Observer's claims to it.
func (r *Recorder) Note(kind NoteKind, st kernel.Stream, arg uint64) {
	at, ok := r.start(OpNote)
	if !ok {
		return
	}
	var id uint64
	if st != nil {
		_, id = unwrap(st)
	}
	l := r.log
	l.buf = binary.AppendUvarint(l.buf, uint64(kind))
	l.buf = binary.AppendUvarint(l.buf, id)
	l.buf = binary.AppendUvarint(l.buf, arg)
	l.commit(at)
}

// Shutdown records that the loop is about to call the core's Shutdown: an
// input that does not cross the seam, which a replay must give at the same
// point (Replayer.Stop).
func (r *Recorder) Shutdown() {
	if at, ok := r.start(OpShutdown); ok {
		r.log.commit(at)
	}
}

// Stop wraps a stop function for server.Run: when it first returns true,
// the shutdown is recorded. A nil stop never stops.
func (r *Recorder) Stop(stop func() bool) func() bool {
	return func() bool {
		if stop != nil && stop() {
			r.Shutdown()
			return true
		}
		return false
	}
}

// ID returns the recording's id of a source made by a Recorder or a
// Replayer; ok is false for any other source. The same call has the same
// id in a recording and in its replay.
func ID(src kernel.Source) (id uint64, ok bool) {
	switch s := src.(type) {
	case *recStream:
		return s.id, true
	case *recVStream:
		return s.id, true
	case *recCStream:
		return s.id, true
	case *recVCStream:
		return s.id, true
	case *recListener:
		return s.id, true
	case *replayStream:
		return s.id, true
	case *replayVStream:
		return s.id, true
	case *replayCStream:
		return s.id, true
	case *replayVCStream:
		return s.id, true
	case *replayListener:
		return s.id, true
	}
	return 0, false
}
