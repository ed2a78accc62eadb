package netrec

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"runtime"
	"slices"
	"time"

	"github.com/mobsim/mobsim/kernel"
)

// Errors a Reader (and so a Replayer) returns, to be tested with errors.Is.
// Each comes wrapped with where it happened.
var (
	// ErrNotRecording: the input does not start with the magic bytes.
	ErrNotRecording = errors.New("netrec: not a recording")
	// ErrVersion: the recording has another format version (a *VersionError).
	ErrVersion = errors.New("netrec: unsupported recording format version")
	// ErrTruncated: the input ends before an end or stop record, as when
	// the recorder's process died (the last unflushed block is lost).
	ErrTruncated = errors.New("netrec: recording is truncated")
	// ErrCorrupt: a block's checksum does not match, or a record is
	// malformed.
	ErrCorrupt = errors.New("netrec: recording is corrupt")
)

// VersionError names both versions when a recording's format is not the one
// this build reads.
type VersionError struct{ Got, Want uint64 }

func (e *VersionError) Error() string {
	return fmt.Sprintf("netrec: recording format version %d; this build reads version %d only", e.Got, e.Want)
}

func (e *VersionError) Is(target error) bool { return target == ErrVersion }

// Header is what a recording says about itself.
type Header struct {
	Version uint64    // format version
	Build   Build     // the binary that recorded it
	Writes  WriteMode // what the write records keep of the bytes (Options.Writes)
	// Batches says the recorded kernel writes batches
	// (kernel.BatchWriter): the core was given WriteBatch, and a replay
	// must give it too (Replayer.Poller).
	Batches bool
	Config  []byte // the caller's config blob (Options.Config)
}

// Record is one decoded record. Which fields are set depends on Op (see the
// package doc for the layout); slices are only valid until the next call to
// Reader.Next.
type Record struct {
	Step   uint64        // index of the record, from 0
	Offset int64         // byte offset of the record in the recording
	Size   int           // bytes the record takes (block headers not counted)
	Time   time.Duration // the latest Now recorded at or before this record
	Op     Op

	ID       uint64          // the source: stream or listener id (Accept: the listener)
	NewID    uint64          // Accept: the new stream's id
	Vector   bool            // Accept: the new stream has Writev
	Closing  bool            // Accept: the new stream has UnackedBytes and Abort
	Token    kernel.Token    // Register, Reregister
	Interest kernel.Interest // Register, Reregister
	Timeout  time.Duration   // Poll: the timeout asked
	Len      int             // Poll: len(events); Read, Write: len(p)
	Bufs     []int           // Writev: the length of each buffer
	N        int             // Poll: events returned; Read, Write, Writev: bytes moved
	Events   []kernel.Event  // Poll: the batch
	Data     []byte          // Read: bytes read; Write, Writev with WriteContents: bytes written (the first N)
	Digest   uint32          // Write, Writev with HasDigest: CRC-32C of the N bytes written
	// HasDigest: Digest is set (every write with WriteDigests, the
	// sampled ones with WriteCounts).
	HasDigest bool
	Batch     []BatchItem // WriteBatch: its writes, in order
	Err       error       // the call's error, rebuilt (nil for success)

	Kind NoteKind // Note
	Arg  uint64   // Note

	Reason StopReason // Stop
	Text   string     // Stop: what the recorder said
}

// Reader decodes a recording record by record. It reads blocks whole and
// checks each block's CRC before handing out any of its records, so a
// corrupt block is reported as such, not as whatever its bytes would mean.
type Reader struct {
	r      *bufio.Reader
	hdr    Header
	sameOS bool
	off    int64 // offset in the input of the next unread byte

	block    []byte // the current block's payload
	blockOff int64  // offset of block[0] in the input
	pos      int

	step   uint64
	now    time.Duration
	nextID uint64 // the next source id a Listen or Accept must use
	done   bool   // the end or stop record was returned
	stop   string // the stop record's reason and text, once read
	err    error  // sticky

	rec    Record
	events []kernel.Event
	bufs   []int
	batch  []BatchItem
	errs   map[errKey]error // rebuilt errors, one per distinct kind and text
}

// NewReader reads and checks the recording's magic, version and header.
func NewReader(r io.Reader) (*Reader, error) {
	rd := &Reader{r: bufio.NewReaderSize(r, 4<<10), nextID: 1, errs: map[errKey]error{}}
	var m [len(magic)]byte
	if _, err := io.ReadFull(rd.r, m[:]); err != nil || string(m[:]) != magic {
		return nil, fmt.Errorf("%w (first bytes %q)", ErrNotRecording, m[:])
	}
	rd.off = int64(len(m))
	v, err := binary.ReadUvarint(rd.r)
	if err != nil {
		return nil, fmt.Errorf("%w: version: %v", ErrTruncated, err)
	}
	rd.off += int64(uvarintLen(v))
	if v != FormatVersion {
		return nil, &VersionError{Got: v, Want: FormatVersion}
	}
	if err := rd.readBlock(); err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: no header block", ErrTruncated)
		}
		return nil, err
	}
	d := decoder{b: rd.block}
	b := &rd.hdr.Build
	for _, f := range [...]*string{&b.Module, &b.Version, &b.Revision, &b.Time} {
		*f = string(d.bytes(headerFieldBytesMax))
	}
	switch d.byte() {
	case 0:
	case 1:
		b.Modified = true
	default:
		d.fail("modified flag")
	}
	for _, f := range [...]*string{&b.Tags, &b.GoVersion, &b.GOOS, &b.GOARCH} {
		*f = string(d.bytes(headerFieldBytesMax))
	}
	if m := WriteMode(d.byte()); m < writeModeCount {
		rd.hdr.Writes = m
	} else {
		d.fail("write mode")
	}
	switch d.byte() {
	case 0:
	case 1:
		rd.hdr.Batches = true
	default:
		d.fail("flags")
	}
	rd.hdr.Version = v
	rd.hdr.Config = append([]byte(nil), d.bytes(configBytesMax)...)
	if d.err != nil || d.pos != len(d.b) {
		return nil, fmt.Errorf("%w: header block: malformed", ErrCorrupt)
	}
	rd.sameOS = b.GOOS == runtime.GOOS
	rd.block, rd.pos = nil, 0
	return rd, nil
}

// Header returns the recording's header.
func (rd *Reader) Header() Header { return rd.hdr }

// Next returns the next record. After the end or stop record it returns
// io.EOF. A recording that ends early gives ErrTruncated, a damaged one
// ErrCorrupt; the error says at which record and offset.
func (rd *Reader) Next() (*Record, error) {
	if rd.err != nil {
		return nil, rd.err
	}
	if rd.done {
		rd.err = io.EOF
		return nil, io.EOF
	}
	for rd.pos >= len(rd.block) {
		if err := rd.readBlock(); err != nil {
			if errors.Is(err, io.EOF) {
				err = fmt.Errorf("%w: the input ends after %d records (offset %d) with no end or stop record: the recorder did not close",
					ErrTruncated, rd.step, rd.off)
			}
			rd.err = err
			return nil, err
		}
	}
	rec, err := rd.decode()
	if err != nil {
		rd.err = fmt.Errorf("%w: record %d at offset %d: %v", ErrCorrupt, rd.step, rd.blockOff+int64(rd.pos), err)
		return nil, rd.err
	}
	rd.step++
	if rec.Op == OpEnd || rec.Op == OpStop {
		rd.done = true
		if rd.pos != len(rd.block) {
			rd.err = fmt.Errorf("%w: %d bytes after the %v record in its block", ErrCorrupt, len(rd.block)-rd.pos, rec.Op)
			return nil, rd.err
		}
		if _, perr := rd.r.Peek(1); perr == nil {
			rd.err = fmt.Errorf("%w: data after the %v record at offset %d", ErrCorrupt, rec.Op, rd.off)
			return nil, rd.err
		}
	}
	return rec, nil
}

// readBlock reads the next block and checks its CRC. io.EOF means the input
// ended cleanly at a block boundary.
func (rd *Reader) readBlock() error {
	start := rd.off
	n, err := binary.ReadUvarint(rd.r)
	if err == io.EOF {
		return io.EOF
	}
	if err != nil {
		kind := ErrCorrupt // a varint too long
		if errors.Is(err, io.ErrUnexpectedEOF) {
			kind = ErrTruncated
		}
		return fmt.Errorf("%w: block header at offset %d: %v", kind, start, err)
	}
	if n == 0 || n > blockBytesLimit {
		return fmt.Errorf("%w: block at offset %d claims %d bytes (1..%d)", ErrCorrupt, start, n, blockBytesLimit)
	}
	rd.off += int64(uvarintLen(n))
	var sum [4]byte
	if _, err := io.ReadFull(rd.r, sum[:]); err != nil {
		return fmt.Errorf("%w: block header at offset %d", ErrTruncated, start)
	}
	rd.off += 4
	// Grow with what arrives, not with what the length claims: a corrupt
	// length must not allocate 128 MiB for a short input.
	rd.block = rd.block[:0]
	for uint64(len(rd.block)) < n {
		have := len(rd.block)
		chunk := min(int(n)-have, max(have, 64<<10))
		rd.block = slices.Grow(rd.block, chunk)[:have+chunk]
		got, err := io.ReadFull(rd.r, rd.block[have:])
		rd.off += int64(got)
		if err != nil {
			return fmt.Errorf("%w: block at offset %d holds %d of its %d bytes", ErrTruncated, start, have+got, n)
		}
	}
	if crc32.Checksum(rd.block, crcTable) != binary.LittleEndian.Uint32(sum[:]) {
		return fmt.Errorf("%w: block at offset %d: checksum mismatch", ErrCorrupt, start)
	}
	rd.blockOff, rd.pos = rd.off-int64(n), 0
	return nil
}

// decode parses the record at rd.pos and checks it for consistency.
func (rd *Reader) decode() (*Record, error) {
	d := decoder{b: rd.block, pos: rd.pos}
	rec := &rd.rec
	*rec = Record{Step: rd.step, Offset: rd.blockOff + int64(rd.pos), Op: Op(d.byte())}
	switch rec.Op {
	case OpListen:
		rec.ID = d.uvarint()
	case OpNow:
		rd.now += time.Duration(d.varint())
	case OpPoll:
		rec.Timeout = time.Duration(d.varint())
		rec.Len = d.count(math.MaxInt32)
		rec.N = d.count(min(rec.Len, (len(d.b)-d.pos)/3)) // an event takes 3 bytes at least
		rd.events = rd.events[:0]
		for range rec.N {
			if d.err != nil {
				break
			}
			rd.events = append(rd.events, kernel.Event{Token: d.token(), Ready: kernel.Ready(d.byte())})
		}
		rec.Events = rd.events
		rec.Err = rd.decodeErr(&d)
	case OpAccept:
		rec.ID = d.uvarint()
		rec.Err = rd.decodeErr(&d)
		if rec.Err == nil && d.err == nil {
			rec.NewID = d.uvarint()
			f := d.byte()
			if f&^(acceptVector|acceptClosing) != 0 {
				d.fail("accept flags")
			}
			rec.Vector, rec.Closing = f&acceptVector != 0, f&acceptClosing != 0
		}
	case OpRead, OpWrite:
		rec.ID = d.uvarint()
		rec.Len = d.count(math.MaxInt)
		if rec.Op == OpWrite {
			rd.written(&d, rec, rec.Len)
		} else {
			rec.Data = d.bytes(rec.Len)
			rec.N = len(rec.Data)
		}
		rec.Err = rd.decodeErr(&d)
	case OpWritev:
		rec.ID = d.uvarint()
		nb := d.count(len(d.b) - d.pos) // each length takes a byte at least
		rd.bufs = rd.bufs[:0]
		total := 0
		for range nb {
			if d.err != nil {
				break
			}
			n := d.count(math.MaxInt - total)
			rd.bufs = append(rd.bufs, n)
			total += n
		}
		rec.Bufs = rd.bufs
		rd.written(&d, rec, total)
		rec.Err = rd.decodeErr(&d)
	case OpWriteBatch:
		rd.decodeBatch(&d, rec)
	case OpCloseWrite, OpClose, OpDeregister, OpAbort:
		rec.ID = d.uvarint()
		rec.Err = rd.decodeErr(&d)
	case OpUnacked:
		rec.ID = d.uvarint()
		rec.Err = rd.decodeErr(&d)
		if rec.Err == nil && d.err == nil {
			rec.N = d.count(math.MaxInt)
		}
	case OpRegister, OpReregister:
		rec.ID = d.uvarint()
		rec.Token = d.token()
		rec.Interest = kernel.Interest(d.byte())
		rec.Err = rd.decodeErr(&d)
	case OpNote:
		rec.Kind = NoteKind(d.uvarint())
		rec.ID = d.uvarint()
		rec.Arg = d.uvarint()
	case OpShutdown:
	case OpStop:
		rec.Reason = StopReason(d.uvarint())
		rec.Text = string(d.bytes(stopTextBytesMax))
		rd.stop = rec.Reason.String() + ": " + rec.Text
	case OpEnd:
		if n := d.uvarint(); d.err == nil && n != rd.step {
			d.fail(fmt.Sprintf("end record counts %d records; %d precede it", n, rd.step))
		}
	default:
		d.fail(fmt.Sprintf("unknown op %d", uint8(rec.Op)))
	}
	if d.err == nil {
		rd.checkIDs(rec, &d)
	}
	if d.err != nil {
		return nil, d.err
	}
	rec.Time = rd.now
	rec.Size = d.pos - rd.pos
	rd.pos = d.pos
	return rec, nil
}

// written reads what a write record keeps of the bytes it took into rec.
func (rd *Reader) written(d *decoder, rec *Record, total int) {
	rec.N, rec.Data, rec.Digest, rec.HasDigest = rd.writtenOf(d, total)
}

// writtenOf reads what a write keeps of the bytes it took, by the
// recording's write mode: the bytes, their digest, or the count with a
// flag bit for a sampled digest. total bounds the count.
func (rd *Reader) writtenOf(d *decoder, total int) (n int, data []byte, digest uint32, has bool) {
	switch rd.hdr.Writes {
	case WriteContents:
		data = d.bytes(total)
		return len(data), data, 0, false
	case WriteDigests:
		n = d.count(total)
		return n, nil, d.fixed32(), true
	}
	v := d.uvarint()
	if v>>1 > uint64(total) {
		d.fail(fmt.Sprintf("count %d over its bound %d", v>>1, total))
		return 0, nil, 0, false
	}
	if v&1 == 1 {
		return int(v >> 1), nil, d.fixed32(), true
	}
	return int(v >> 1), nil, 0, false
}

// BatchItem is one write of a WriteBatch record: as a Writev record holds
// it. Slices are only valid until the next call to Reader.Next.
type BatchItem struct {
	ID        uint64 // the stream (0: one the recorder did not make)
	Bufs      []int  // the lengths of its buffers, trailing empty ones left out
	N         int    // bytes written
	Data      []byte // with WriteContents: the N bytes written
	Digest    uint32 // with HasDigest: their CRC-32C
	HasDigest bool
	Err       error
}

// decodeBatch reads a WriteBatch record's writes.
func (rd *Reader) decodeBatch(d *decoder, rec *Record) {
	k := d.count((len(d.b) - d.pos) / 4) // a write takes 4 bytes at least
	rd.batch, rd.bufs = rd.batch[:0], rd.bufs[:0]
	for range k {
		if d.err != nil {
			return
		}
		it := BatchItem{ID: d.uvarint()}
		nb := d.count(kernel.BatchBufsMax)
		start, total := len(rd.bufs), 0
		for range nb {
			n := d.count(math.MaxInt - total)
			rd.bufs = append(rd.bufs, n)
			total += n
		}
		it.N, it.Data, it.Digest, it.HasDigest = rd.writtenOf(d, total)
		it.Err = rd.decodeErr(d)
		it.Bufs = rd.bufs[start:len(rd.bufs):len(rd.bufs)]
		if it.ID >= rd.nextID {
			d.fail(fmt.Sprintf("write-batch names source %d, never created", it.ID))
		}
		rd.batch = append(rd.batch, it)
	}
	// rd.bufs may have moved as it grew: cut each write's lengths again.
	at := 0
	for i := range rd.batch {
		n := len(rd.batch[i].Bufs)
		rd.batch[i].Bufs = rd.bufs[at : at+n : at+n]
		at += n
	}
	rec.Batch = rd.batch
}

// checkIDs holds ids to what the recorder does: sources are numbered from 1
// in the order they appear, and a record names only one already seen.
func (rd *Reader) checkIDs(rec *Record, d *decoder) {
	fresh := func(id uint64) {
		if id != rd.nextID {
			d.fail(fmt.Sprintf("new source id %d; the next is %d", id, rd.nextID))
			return
		}
		rd.nextID++
	}
	switch {
	case rec.Op == OpListen:
		fresh(rec.ID)
		return
	case rec.Op == OpNote && rec.ID == 0:
		return
	case rec.Op.hasSource() && rec.ID >= rd.nextID:
		d.fail(fmt.Sprintf("%v names source %d, never created", rec.Op, rec.ID))
		return
	}
	if rec.Op == OpAccept && rec.Err == nil {
		fresh(rec.NewID)
	}
}

// decodeErr reads an error and returns the value a replay hands back.
func (rd *Reader) decodeErr(d *decoder) error {
	v := d.uvarint()
	if d.err != nil {
		return nil
	}
	code, hasText := int(min(v>>1, 1<<20)), v&1 == 1
	if code > errCodeMax {
		d.fail(fmt.Sprintf("error code %d", code))
		return nil
	}
	if !hasText {
		if code == errOtherErrno || code == errText {
			d.fail("error without text")
		}
		return canonical(code)
	}
	if code == errNil {
		d.fail("nil error with text")
		return nil
	}
	k := errKey{code: code}
	if code == errOtherErrno {
		k.num = d.uvarint()
	}
	text := d.bytes(errTextBytesMax)
	if d.err != nil {
		return nil
	}
	k.text = string(text)
	if e, ok := rd.errs[k]; ok {
		return e
	}
	e := errorOf(k, true, rd.sameOS)
	rd.errs[k] = e
	return e
}

// decoder reads fields from a block; the first failure sticks.
type decoder struct {
	b   []byte
	pos int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = errors.New(what)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.pos >= len(d.b) {
		d.fail("record runs past its block")
		return 0
	}
	c := d.b[d.pos]
	d.pos++
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.pos:])
	if n <= 0 {
		d.fail("bad or truncated varint")
		return 0
	}
	d.pos += n
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.pos:])
	if n <= 0 {
		d.fail("bad or truncated varint")
		return 0
	}
	d.pos += n
	return v
}

// count reads a uvarint that must be at most limit.
func (d *decoder) count(limit int) int {
	v := d.uvarint()
	if v > uint64(max(limit, 0)) {
		d.fail(fmt.Sprintf("count %d over its bound %d", v, limit))
		return 0
	}
	return int(v)
}

// bytes reads a length-prefixed byte string of at most limit bytes, as a
// slice of the block.
func (d *decoder) bytes(limit int) []byte {
	n := d.count(limit)
	if d.err != nil {
		return nil
	}
	if n > len(d.b)-d.pos {
		d.fail("record runs past its block")
		return nil
	}
	p := d.b[d.pos : d.pos+n : d.pos+n]
	d.pos += n
	return p
}

func (d *decoder) fixed32() uint32 {
	if d.err != nil {
		return 0
	}
	if len(d.b)-d.pos < 4 {
		d.fail("record runs past its block")
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b[d.pos:])
	d.pos += 4
	return v
}

func (d *decoder) token() kernel.Token {
	hi, lo := d.uvarint(), d.uvarint()
	if hi > 0xffff_ffff || lo > 0xffff_ffff {
		d.fail("token half over 32 bits")
	}
	return kernel.Token(hi<<32 | lo)
}

func uvarintLen(v uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], v)
}
