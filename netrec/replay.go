package netrec

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/mobsim/mobsim/kernel"
)

// Ways a replay ends that are not failures, to be tested with errors.Is on
// the error the core's loop returns (it comes from Poll).
var (
	// ErrEnd: the core asked the poller (Now or Poll: a new tick) past
	// the recording's end record: the live loop stopped there.
	ErrEnd = errors.New("netrec: replay reached the end of the recording")
	// ErrStopped: the core went on past the point where recording stopped
	// (size cap); the live run went on unrecorded.
	ErrStopped = errors.New("netrec: replay reached the point where recording stopped")
	// ErrDiverged: the core made a call the recording does not have next
	// (a *Divergence).
	ErrDiverged = errors.New("netrec: replay diverged")
)

// KernelObserver is told what the recorded kernel did, as a replay reaches
// each record: the method set of netfake.Observer, so one adapter feeds an
// oracle from a simulation or a replay. Ids are the recording's stream ids.
// Slices are only valid during the call.
type KernelObserver interface {
	Accepted(id uint64)        // Accept returned stream id
	Read(id uint64, p []byte)  // a Read returned p (len(p) > 0)
	Wrote(id uint64, p []byte) // a Write or Writev wrote p (len(p) > 0), one call per write
	ClosedWrite(id uint64)     // CloseWrite succeeded
	Closed(id uint64)          // the server closed stream id
	Reset(id uint64)           // a Read or Write failed with ECONNRESET or EPIPE; once per stream
}

// ReplayOptions configure a Replayer.
type ReplayOptions struct {
	// MatchNotes makes annotations calls like any other: the core's
	// Observer must be wired to the Replayer (Observer adapter) and make
	// the same claims, in the same places. Without it, recorded notes are
	// skipped (still given to OnRecord) and the Replayer's Note does
	// nothing.
	MatchNotes bool
	// Observer, if set, is told each kernel result as it is replayed.
	Observer KernelObserver
	// OnRecord, if set, is given every record as the replay passes it,
	// notes and the final end or stop record included: the trace, and
	// what an oracle needs beyond Observer (EOFs, ticks, time). The record
	// is only valid during the call.
	OnRecord func(*Record)
	// Build is the replaying binary, for divergence reports; nil means
	// CurrentBuild().
	Build *Build
}

// Replayer is a kernel.Poller that answers the core's calls from a
// recording instead of a kernel. Every call must be the one recorded next
// (see "What a replay matches" in the package doc); the first that is not
// stops the replay with a *Divergence, and every later call fails with it.
// It starts no goroutine and reads no clock.
type Replayer struct {
	rd    *Reader
	opt   ReplayOptions
	build Build
	file  *os.File

	rec   *Record // the next record, read ahead; nil when not yet read
	err   error   // sticky: how the replay ended
	now   time.Duration
	steps uint64 // records passed

	written []byte // without WriteContents: the bytes the core's write took, for the hooks

	listeners map[uint64]bool // ids that are listeners (lookups only)
	resetTold map[uint64]bool // streams whose reset Observer was told (lookups only)
}

var _ kernel.Poller = (*Replayer)(nil)

// Open opens a recording file for replay.
func Open(path string, opt ReplayOptions) (*Replayer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("netrec: open recording: %w", err)
	}
	p, err := NewReplayer(f, opt)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p.file = f
	return p, nil
}

// NewReplayer replays the recording read from r.
func NewReplayer(r io.Reader, opt ReplayOptions) (*Replayer, error) {
	rd, err := NewReader(r)
	if err != nil {
		return nil, err
	}
	b := CurrentBuild()
	if opt.Build != nil {
		b = *opt.Build
	}
	return &Replayer{rd: rd, opt: opt, build: b,
		listeners: map[uint64]bool{}, resetTold: map[uint64]bool{}}, nil
}

// Header returns the recording's header: the config to build the core with.
func (p *Replayer) Header() Header { return p.rd.Header() }

// Err returns how the replay ended so far: nil while it runs, else the
// divergence, the end, or a damaged recording. Once it is set the core is
// being answered with errors; an oracle fed from the core's own Observer
// should ignore what follows.
func (p *Replayer) Err() error { return p.err }

// Steps returns how many records the replay has passed.
func (p *Replayer) Steps() uint64 { return p.steps }

// Close closes the file Open opened.
func (p *Replayer) Close() error {
	if p.file == nil {
		return nil
	}
	err := p.file.Close()
	p.file = nil
	return err
}

// peek reads the next record the core must match, passing over notes when
// they are not matched. It returns nil once the replay has ended.
func (p *Replayer) peek() *Record {
	if p.err != nil {
		return nil
	}
	for p.rec == nil && p.err == nil {
		rec, err := p.rd.Next()
		if err != nil {
			p.err = fmt.Errorf("at step %d: %w", p.rd.step, err)
			return nil
		}
		if rec.Op == OpNote && !p.opt.MatchNotes {
			p.pass(rec)
			continue
		}
		p.rec = rec
	}
	return p.rec
}

// take matches the core's call c against the next record and returns the
// record, or nil when the replay has ended (then p.err says why).
func (p *Replayer) take(c *Call) *Record {
	rec := p.peek()
	if rec == nil {
		return nil
	}
	switch rec.Op {
	case OpStop:
		p.rec = nil
		p.pass(rec)
		p.err = fmt.Errorf("%w at step %d (%v: %s); the core called %v", ErrStopped, rec.Step, rec.Reason, rec.Text, c)
		return nil
	case OpEnd:
		if c.Op != OpPoll && c.Op != OpNow {
			// The live loop ends between ticks, and a tick starts with
			// the poller (the timeout's Now, then Poll): a core that
			// wants a source call here is in the middle of a tick the
			// live core did not have.
			p.err = p.diverge(c, rec, "the recording ends here, in the middle of the core's tick")
			return nil
		}
		p.rec = nil
		p.pass(rec)
		p.err = fmt.Errorf("%w at step %d; the core called %v", ErrEnd, rec.Step, c)
		return nil
	}
	if why := match(c, rec, p.rd.hdr.Writes); why != "" {
		p.err = p.diverge(c, rec, why)
		return nil
	}
	hooked := p.opt.OnRecord != nil || p.opt.Observer != nil
	if hooked && p.rd.hdr.Writes != WriteContents {
		// The recording has a digest or a count only; the core's bytes
		// match what it has.
		switch rec.Op {
		case OpWrite, OpWritev:
			p.written = appendFirst(p.written[:0], c, rec.N)
			rec.Data = p.written
		case OpWriteBatch:
			p.batchWritten(c, rec)
		}
	}
	p.rec = nil
	p.pass(rec)
	return rec
}

// appendFirst appends the first n bytes the core's write call offered.
func appendFirst(b []byte, c *Call, n int) []byte {
	if c.Op == OpWrite {
		return append(b, c.Data[:n]...)
	}
	for _, v := range c.Vec {
		m := min(n, len(v))
		b = append(b, v[:m]...)
		n -= m
	}
	return b
}

// pass hands a record the replay has reached to the hooks.
func (p *Replayer) pass(rec *Record) {
	p.steps++
	if rec.Op == OpListen {
		p.listeners[rec.ID] = true
	}
	if p.opt.OnRecord != nil {
		p.opt.OnRecord(rec)
	}
	if o := p.opt.Observer; o != nil {
		p.observe(o, rec)
	}
}

func (p *Replayer) observe(o KernelObserver, rec *Record) {
	switch rec.Op {
	case OpAccept:
		if rec.Err == nil {
			o.Accepted(rec.NewID)
		}
	case OpRead:
		if rec.N > 0 {
			o.Read(rec.ID, rec.Data)
		}
	case OpWrite, OpWritev:
		if rec.N > 0 {
			o.Wrote(rec.ID, rec.Data)
		}
	case OpWriteBatch:
		for i := range rec.Batch {
			it := &rec.Batch[i]
			if it.N > 0 {
				o.Wrote(it.ID, it.Data)
			}
			p.observeReset(o, it.ID, it.Err)
		}
	case OpCloseWrite:
		if rec.Err == nil {
			o.ClosedWrite(rec.ID)
		}
	case OpClose, OpAbort:
		if !p.listeners[rec.ID] {
			o.Closed(rec.ID)
		}
	}
	switch rec.Op {
	case OpRead, OpWrite, OpWritev:
		p.observeReset(o, rec.ID, rec.Err)
	}
}

// observeReset tells o of the first reset error on stream id.
func (p *Replayer) observeReset(o KernelObserver, id uint64, err error) {
	if (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) && !p.resetTold[id] {
		p.resetTold[id] = true
		o.Reset(id)
	}
}

func (p *Replayer) diverge(c *Call, rec *Record, why string) error {
	want := callOf(rec)
	return &Divergence{Step: rec.Step, Offset: rec.Offset, Got: c.clone(), Want: want.clone(),
		Detail: why, Recorded: p.rd.hdr.Build, Replaying: p.build}
}

// Listener returns the next recorded listener, to build the core on.
func (p *Replayer) Listener() (kernel.Listener, error) {
	rec := p.take(&Call{Op: OpListen})
	if rec == nil {
		return nil, p.err
	}
	return &replayListener{p: p, id: rec.ID}, nil
}

// Register matches a registration and returns the recorded result.
func (p *Replayer) Register(src kernel.Source, tok kernel.Token, in kernel.Interest) error {
	return p.regCall(OpRegister, src, tok, in)
}

// Reregister matches a change of registration.
func (p *Replayer) Reregister(src kernel.Source, tok kernel.Token, in kernel.Interest) error {
	return p.regCall(OpReregister, src, tok, in)
}

func (p *Replayer) regCall(op Op, src kernel.Source, tok kernel.Token, in kernel.Interest) error {
	c := Call{Op: op, Token: tok, Interest: in}
	if !p.sourceID(&c, src) {
		return p.err
	}
	if rec := p.take(&c); rec != nil {
		return rec.Err
	}
	return p.err
}

// Deregister matches a deregistration.
func (p *Replayer) Deregister(src kernel.Source) error {
	c := Call{Op: OpDeregister}
	if !p.sourceID(&c, src) {
		return p.err
	}
	if rec := p.take(&c); rec != nil {
		return rec.Err
	}
	return p.err
}

// sourceID puts src's id in c, or ends the replay: a source the replay did
// not make cannot be in the recording.
func (p *Replayer) sourceID(c *Call, src kernel.Source) bool {
	if p.err != nil {
		return false
	}
	id, ok := ID(src)
	if !ok {
		rec := p.peek()
		if rec == nil {
			return false
		}
		p.err = p.diverge(c, rec, fmt.Sprintf("the core passed a source (%T) that this replay did not make", src))
		return false
	}
	c.ID = id
	return true
}

// Poll matches the timeout and room asked and returns the recorded batch.
func (p *Replayer) Poll(events []kernel.Event, timeout time.Duration) (int, error) {
	rec := p.take(&Call{Op: OpPoll, Timeout: timeout, Len: len(events)})
	if rec == nil {
		return 0, p.err
	}
	return copy(events, rec.Events), rec.Err
}

// Now returns the recorded time. It has no error to return: after the
// replay ends it returns the last time, and the next Poll reports why.
func (p *Replayer) Now() time.Duration {
	if rec := p.take(&Call{Op: OpNow}); rec != nil {
		p.now = rec.Time
	}
	return p.now
}

// Note matches an annotation when ReplayOptions.MatchNotes is set, and does
// nothing otherwise.
func (p *Replayer) Note(kind NoteKind, st kernel.Stream, arg uint64) {
	if !p.opt.MatchNotes || p.err != nil {
		return
	}
	c := Call{Op: OpNote, Kind: kind, Arg: arg}
	if st != nil {
		c.ID, _ = ID(st)
	}
	p.take(&c)
}

// Stop is the stop function for server.Run on a replay: true exactly where
// the live loop asked for a shutdown (Recorder.Stop or Recorder.Shutdown).
func (p *Replayer) Stop() bool {
	if rec := p.peek(); rec != nil && rec.Op == OpShutdown {
		p.rec = nil
		p.pass(rec)
		return true
	}
	return false
}

// Summary says how much of a recording a replay covered and how it ended.
type Summary struct {
	Steps uint64 // records passed
	// End is how the recording ends: "end" (the recorder was closed),
	// "stop: <reason>" (recording stopped early; the live run went on),
	// or "truncated" (the recorder's process did not close it).
	End string
}

// Finish is called once the core's loop has returned (with whatever error).
// It returns nil when the replay matched the whole recording: the core
// stopped where the live one did, or ran past the point where recording
// stopped or was cut. It returns the divergence or the damage otherwise,
// including a core that stopped while records remain.
func (p *Replayer) Finish() (Summary, error) {
	if p.err == nil {
		if rec := p.peek(); rec != nil {
			switch rec.Op {
			case OpEnd:
				p.rec = nil
				p.pass(rec)
				p.err = fmt.Errorf("%w at step %d", ErrEnd, rec.Step)
			case OpStop:
				p.rec = nil
				p.pass(rec)
				p.err = fmt.Errorf("%w at step %d (%v: %s)", ErrStopped, rec.Step, rec.Reason, rec.Text)
			default:
				p.err = p.diverge(&Call{}, rec, "the core stopped; the recording goes on")
			}
		}
	}
	s := Summary{Steps: p.steps}
	switch {
	case errors.Is(p.err, ErrEnd):
		s.End = "end"
	case errors.Is(p.err, ErrStopped):
		s.End = "stop: " + p.rd.stop
	case errors.Is(p.err, ErrTruncated):
		s.End = "truncated"
	default:
		return s, p.err
	}
	return s, nil
}

// Call is a seam call as the core made it, or as a recording holds it: the
// inputs a replay matches, not the results.
type Call struct {
	Op       Op
	ID       uint64 // the source
	Token    kernel.Token
	Interest kernel.Interest
	Timeout  time.Duration
	Len      int      // Poll: len(events); Read, Write: len(p)
	Bufs     []int    // Writev: buffer lengths
	Data     []byte   // Write: the bytes; Writev: the bytes, all buffers in order
	Vec      [][]byte // Writev from the core, before clone joins it into Data
	N        int      // recorded calls: bytes written (the part of Data that was checked)
	Digest   uint32   // recorded calls with HasDigest: CRC-32C of the N bytes written
	// HasDigest: Digest is set (a recorded write with a digest).
	HasDigest bool
	Kind      NoteKind
	Arg       uint64
	// Writes is a WriteBatch from the core, before clone turns it into
	// Batch; Batch is a batch as one Writev call a write.
	Writes []kernel.BatchWrite
	Batch  []Call
}

// clone copies c so it outlives the core's buffers.
func (c *Call) clone() Call {
	d := *c
	d.Bufs = append([]int(nil), c.Bufs...)
	d.Data = append([]byte(nil), c.Data...)
	for _, b := range c.Vec {
		d.Bufs = append(d.Bufs, len(b))
		d.Data = append(d.Data, b...)
	}
	d.Vec = nil
	if c.Writes != nil {
		d.Batch = batchCalls(c, nil)
	} else {
		d.Batch = nil
		for _, one := range c.Batch {
			d.Batch = append(d.Batch, one.clone())
		}
	}
	d.Writes = nil
	return d
}

// callOf is the call a record holds, sharing the record's slices (valid
// until the reader moves on; clone keeps it).
func callOf(rec *Record) Call {
	c := Call{Op: rec.Op, ID: rec.ID, Token: rec.Token, Interest: rec.Interest, Timeout: rec.Timeout,
		Len: rec.Len, Bufs: rec.Bufs, Kind: rec.Kind, Arg: rec.Arg, N: rec.N, Digest: rec.Digest, HasDigest: rec.HasDigest}
	switch rec.Op {
	case OpWrite, OpWritev:
		c.Data = rec.Data
	case OpWriteBatch:
		c.Batch = batchCalls(nil, rec)
	}
	return c
}

// match reports how the core's call c differs from the recorded one, or ""
// when it is the same call. See "What a replay matches" in the package doc.
// Written bytes are compared as the record keeps them: byte for byte, by
// their CRC-32C, or (a write recorded by its count alone) not at all.
func match(c *Call, rec *Record, mode WriteMode) string {
	digests, contents := rec.HasDigest, mode == WriteContents
	if c.Op != rec.Op {
		return "another call"
	}
	if rec.Op.hasSource() && c.ID != rec.ID {
		return fmt.Sprintf("another source (%d, recorded %d)", c.ID, rec.ID)
	}
	switch rec.Op {
	case OpPoll:
		if c.Timeout != rec.Timeout {
			return fmt.Sprintf("timeout %v, recorded %v", c.Timeout, rec.Timeout)
		}
		if c.Len != rec.Len {
			return fmt.Sprintf("room for %d events, recorded %d", c.Len, rec.Len)
		}
	case OpRead:
		if c.Len != rec.Len {
			return fmt.Sprintf("buffer of %d bytes, recorded %d", c.Len, rec.Len)
		}
	case OpWrite:
		if c.Len != rec.Len {
			return fmt.Sprintf("write of %d bytes, recorded %d", c.Len, rec.Len)
		}
		if digests {
			return digestDiff(crc32.Checksum(c.Data[:rec.N], crcTable), rec)
		}
		if !contents {
			return ""
		}
		if i := firstDiff(c.Data[:rec.N], rec.Data); i >= 0 {
			return fmt.Sprintf("written bytes differ at byte %d", i)
		}
	case OpWritev:
		if len(c.Vec) != len(rec.Bufs) {
			return fmt.Sprintf("%d buffers, recorded %d", len(c.Vec), len(rec.Bufs))
		}
		off := 0
		var sum uint32
		for i, b := range c.Vec {
			if len(b) != rec.Bufs[i] {
				return fmt.Sprintf("buffer %d holds %d bytes, recorded %d", i, len(b), rec.Bufs[i])
			}
			k := min(len(b), rec.N-off)
			switch {
			case digests:
				sum = crc32.Update(sum, crcTable, b[:k])
			case contents:
				if j := firstDiff(b[:k], rec.Data[off:off+k]); j >= 0 {
					return fmt.Sprintf("written bytes differ at byte %d", off+j)
				}
			}
			off += k
		}
		if digests {
			return digestDiff(sum, rec)
		}
	case OpWriteBatch:
		return matchBatch(c, rec, mode)
	case OpRegister, OpReregister:
		if c.Token != rec.Token || c.Interest != rec.Interest {
			return fmt.Sprintf("token %#x interest %d, recorded token %#x interest %d", uint64(c.Token), c.Interest, uint64(rec.Token), rec.Interest)
		}
	case OpNote:
		if c.Kind != rec.Kind || c.Arg != rec.Arg {
			return fmt.Sprintf("note %v arg %d, recorded %v arg %d", c.Kind, c.Arg, rec.Kind, rec.Arg)
		}
	}
	return ""
}

func digestDiff(sum uint32, rec *Record) string {
	if sum != rec.Digest {
		return fmt.Sprintf("written bytes differ (CRC-32C %#08x, recorded %#08x)", sum, rec.Digest)
	}
	return ""
}

// firstDiff is the index of the first byte where a and b differ (equal
// lengths), or -1.
func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// Divergence is the first call where the core did not do what was
// recorded: the core is not deterministic given its inputs, or the
// replaying binary differs from the recording one (compare the builds).
type Divergence struct {
	Step      uint64 // the record the core's call was matched against
	Offset    int64  // its byte offset in the recording
	Got       Call   // what the core called (Op 0: nothing, the core stopped)
	Want      Call   // what the recording holds
	Detail    string // what differs
	Recorded  Build  // the binary that recorded
	Replaying Build  // the binary replaying
}

func (d *Divergence) Error() string {
	builds := "different builds: a change in the core explains it"
	if d.Recorded.Same(d.Replaying) {
		builds = "the same build: the core is not deterministic given its inputs"
	} else if d.Recorded.Revision == "" || d.Replaying.Revision == "" {
		builds = "builds cannot be compared (no VCS stamp)"
	}
	return fmt.Sprintf("netrec: replay diverged at step %d (offset %d): %s; the core called %v, the recording has %v; recorded by %v, replayed by %v (%s)",
		d.Step, d.Offset, d.Detail, &d.Got, &d.Want, d.Recorded, d.Replaying, builds)
}

func (d *Divergence) Is(target error) bool { return target == ErrDiverged }
