package netrec

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/mobsim/mobsim/kernel"
)

// magic opens every recording. The format version follows it as a uvarint.
const magic = "MOBREC"

// FormatVersion is the version of the layout this package writes and the
// only one it reads (see "Versioning" in the package doc).
const FormatVersion = 4

// Op is the kind of a record: the seam call it holds, or a record of the
// recording's own (Note, Shutdown, Stop, End).
type Op uint8

// Record kinds, as written in a record's first byte. The values are part of
// the format: a new kind takes the next value and a new FormatVersion.
const (
	OpListen     Op = iota + 1 // a listener was handed to the recorder
	OpNow                      // Poller.Now
	OpPoll                     // Poller.Poll
	OpAccept                   // Listener.Accept
	OpRead                     // Stream.Read
	OpWrite                    // Stream.Write
	OpWritev                   // VectorWriter.Writev
	OpCloseWrite               // Stream.CloseWrite
	OpClose                    // Source.Close
	OpRegister                 // Poller.Register
	OpReregister               // Poller.Reregister
	OpDeregister               // Poller.Deregister
	OpNote                     // an annotation from the caller (Recorder.Note)
	OpShutdown                 // the loop asked the core to shut down (Recorder.Shutdown)
	OpStop                     // recording stopped early (size cap, write error); nothing follows
	OpEnd                      // the recorder was closed; nothing follows
	OpWriteBatch               // kernel.BatchWriter.WriteBatch
	OpUnacked                  // kernel.UnackedCounter.UnackedBytes
	OpAbort                    // kernel.Aborter.Abort
	opCount
)

var opNames = [opCount]string{
	"?", "listen", "now", "poll", "accept", "read", "write", "writev", "close-write",
	"close", "register", "reregister", "deregister", "note", "shutdown", "stop", "end",
	"write-batch", "unacked", "abort",
}

func (o Op) String() string {
	if o > 0 && o < opCount {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// hasSource reports whether records of this kind name a source by id.
func (o Op) hasSource() bool {
	switch o {
	case OpAccept, OpRead, OpWrite, OpWritev, OpCloseWrite, OpClose,
		OpRegister, OpReregister, OpDeregister, OpNote, OpUnacked, OpAbort:
		return true
	}
	return false
}

// WriteMode is what a recording keeps of the bytes each Write and Writev
// took (Options.Writes; the header says which).
//
// The bytes a core writes are a function of what it read, so a replay does
// not need them: the replayed core makes them again, and the count the
// kernel returned is what it must be answered with. What the bytes buy is
// a check that the replayed core wrote the same ones; what they cost is
// the live server's time (on fan-out a server writes each frame to every
// member, so the writes are most of what crosses the seam):
//
//   - WriteContents keeps them all. A reader alone (a trace printer, an
//     oracle without the core) sees the output; the log grows by the
//     fan-out (about 65 bytes per delivered 64-byte frame).
//   - WriteDigests keeps a CRC-32C of each write: every byte is compared,
//     the log grows with the reads only, but the CRC is computed over all
//     the output, live.
//   - WriteCounts keeps the count, and a CRC of every DigestEvery-th write.
//     A core that wrote other bytes is still caught: by the sample, by
//     the lengths of later writes (which follow from what it queued), and
//     by the oracle, which checks every byte the replayed core writes
//     against the frames it read. A replaying binary that is not the
//     recording one is named by the header's build either way.
type WriteMode uint8

// Write modes, as written in the header.
const (
	WriteContents WriteMode = iota // every byte written
	WriteDigests                   // a CRC-32C of each write's bytes
	WriteCounts                    // counts; a CRC-32C on a sample (Options.DigestEvery)
	writeModeCount
)

var writeModeNames = [writeModeCount]string{"contents", "digests", "counts"}

func (m WriteMode) String() string {
	if m < writeModeCount {
		return writeModeNames[m]
	}
	return fmt.Sprintf("write-mode(%d)", uint8(m))
}

// ParseWriteMode reads a write mode by its name: contents, digests or
// counts.
func ParseWriteMode(s string) (WriteMode, error) {
	for i, n := range writeModeNames {
		if s == n {
			return WriteMode(i), nil
		}
	}
	return 0, fmt.Errorf("write mode %q: want contents, digests or counts", s)
}

// NoteKind is the kind of an annotation. The values below are the ones the
// Observer adapter writes (server.Observer's four claims); callers may use
// others from NoteUser up.
type NoteKind uint64

// Annotation kinds.
const (
	NoteJoined NoteKind = iota + 1 // the stream became a member; arg 0
	NoteLeft                       // the stream left; arg is the close reason's code
	NoteClosed                     // the server closed the stream; arg is the close reason's code
	NoteFrame                      // a frame from the stream entered the global order; arg is its length in bytes
	NoteUser   NoteKind = 64       // first kind free for callers
)

var noteNames = [...]string{"?", "joined", "left", "closed", "frame"}

func (k NoteKind) String() string {
	if k > 0 && k < NoteKind(len(noteNames)) {
		return noteNames[k]
	}
	return fmt.Sprintf("note(%d)", uint64(k))
}

// StopReason says why a recording stopped before its recorder was closed.
type StopReason uint64

// Stop reasons.
const (
	StopSizeCap        StopReason = iota + 1 // the next record would pass Options.LogBytesMax
	StopRecordTooLarge                       // one record is larger than blockBytesLimit
)

func (r StopReason) String() string {
	switch r {
	case StopSizeCap:
		return "size-cap"
	case StopRecordTooLarge:
		return "record-too-large"
	}
	return fmt.Sprintf("stop(%d)", uint64(r))
}

// Limits of the format, enforced by the writer and checked by the reader so
// that a corrupt length cannot make it allocate without bound.
const (
	// blockBytesLimit bounds one block's payload. The writer flushes a
	// block before a record would take it past this, and stops recording
	// if one record alone is larger (a Read of more than 128 MiB).
	blockBytesLimit = 128 << 20
	// blockHeaderBytesMax is a block header's largest size: the payload
	// length as a uvarint (at most 4 bytes below blockBytesLimit) and a
	// 4-byte CRC.
	blockHeaderBytesMax = 4 + 4
	// headerFieldBytesMax bounds each string of the header; configBytesMax
	// bounds the caller's config blob.
	headerFieldBytesMax = 4 << 10
	configBytesMax      = 16 << 20
	// errTextBytesMax bounds the text kept of an error; longer texts are cut.
	errTextBytesMax = 512
	// stopTextBytesMax bounds the text of a stop record, and
	// stopRecordBytesMax a whole stop or end record: the writer keeps that
	// much of the size cap in reserve so the last record always fits.
	stopTextBytesMax   = 200
	stopRecordBytesMax = 1 + 10 + 2 + stopTextBytesMax
)

// crcTable is CRC-32C (Castagnoli), which amd64 and arm64 compute in
// hardware.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// appendToken writes a token as two uvarints, its high then its low 32 bits:
// a token that packs a small pair (the server's generation and slot) takes
// two or three bytes instead of five.
func appendToken(b []byte, t kernel.Token) []byte {
	b = binary.AppendUvarint(b, uint64(t)>>32)
	return binary.AppendUvarint(b, uint64(t)&0xffff_ffff)
}

// appendBytes writes a length-prefixed byte string.
func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
