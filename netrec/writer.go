package netrec

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
)

// logWriter appends records to blocks and writes each block with its CRC.
// Records are built in place at the end of buf, so recording a call copies
// its bytes once and allocates nothing once buf has grown to a block.
//
// The size cap is checked before a record is kept: a record that would take
// the file past the cap (with the stop record kept in reserve) is taken
// back, the stop record written in its place, and the writer stops.
type logWriter struct {
	w io.Writer
	// buf holds blockHeaderBytesMax bytes for the block header, then the
	// current block's records.
	buf        []byte
	blockBytes int   // flush once a block's payload reaches this
	limit      int64 // the size cap in bytes
	flushed    int64 // bytes handed to w so far
	records    uint64
	stopped    bool // stopped, closed or failed: no more records
	stop       StopReason
	stopText   string
	err        error // the first write error
}

func newLogWriter(w io.Writer, blockBytes int, limit int64) *logWriter {
	return &logWriter{
		w:          w,
		buf:        make([]byte, blockHeaderBytesMax, blockHeaderBytesMax+blockBytes+stopRecordBytesMax),
		blockBytes: blockBytes,
		limit:      limit,
	}
}

// size bounds the file's size if everything buffered were flushed now: it
// counts the largest block header for the buffered block.
func (l *logWriter) size() int64 { return l.flushed + int64(len(l.buf)) }

// written is the bytes written so far plus the buffered records.
func (l *logWriter) written() int64 { return l.flushed + int64(len(l.buf)-blockHeaderBytesMax) }

// commit keeps the record built at buf[start:], or takes it back and stops
// when it does not fit under the cap or in a block.
func (l *logWriter) commit(start int) {
	rec := len(l.buf) - start
	payload := len(l.buf) - blockHeaderBytesMax
	cross := payload > blockBytesLimit-stopRecordBytesMax // it needs a block of its own
	need := l.size() + stopRecordBytesMax
	if cross {
		need += blockHeaderBytesMax
	}
	switch {
	case rec > blockBytesLimit-stopRecordBytesMax:
		l.buf = l.buf[:start]
		l.halt(StopRecordTooLarge, fmt.Sprintf("record %d alone is %d bytes; a block holds at most %d",
			l.records, rec, blockBytesLimit-stopRecordBytesMax))
		return
	case need > l.limit:
		l.buf = l.buf[:start]
		l.halt(StopSizeCap, fmt.Sprintf("LogBytesMax (%d bytes) reached at record %d (%d bytes written); later calls pass through unrecorded",
			l.limit, l.records, l.written()))
		return
	}
	l.records++
	if cross {
		l.flushBlock(start)
		n := copy(l.buf[blockHeaderBytesMax:], l.buf[start:start+rec])
		l.buf = l.buf[:blockHeaderBytesMax+n]
	}
	if len(l.buf)-blockHeaderBytesMax >= l.blockBytes {
		l.flush()
	}
}

// flush writes the buffered records as one block.
func (l *logWriter) flush() { l.flushBlock(len(l.buf)) }

// flushBlock writes buf[blockHeaderBytesMax:end] as a block: its length as
// a uvarint, its CRC-32C little-endian, then the records. The header goes
// into the reserved bytes just before the payload, so a block is one write.
// buf[end:] is kept (moved to the start only by the caller).
func (l *logWriter) flushBlock(end int) {
	payload := l.buf[blockHeaderBytesMax:end]
	if len(payload) == 0 || l.err != nil {
		return
	}
	var hdr [blockHeaderBytesMax]byte
	h := binary.AppendUvarint(hdr[:0], uint64(len(payload)))
	h = binary.LittleEndian.AppendUint32(h, crc32.Checksum(payload, crcTable))
	from := blockHeaderBytesMax - len(h)
	copy(l.buf[from:], h)
	n, err := l.w.Write(l.buf[from:end])
	l.flushed += int64(n)
	if err == nil && n < end-from {
		err = io.ErrShortWrite
	}
	if err != nil {
		l.err = fmt.Errorf("netrec: write recording: %w", err)
		l.stopped = true
	}
	if end == len(l.buf) {
		l.buf = l.buf[:blockHeaderBytesMax]
	}
}

// halt writes the stop record (there is always room: the cap keeps it in
// reserve), flushes, and stops.
func (l *logWriter) halt(reason StopReason, text string) {
	if l.stopped {
		return
	}
	if len(text) > stopTextBytesMax {
		text = text[:stopTextBytesMax]
	}
	l.buf = append(l.buf, byte(OpStop))
	l.buf = binary.AppendUvarint(l.buf, uint64(reason))
	l.buf = appendString(l.buf, text)
	l.records++
	l.flush()
	l.stopped, l.stop, l.stopText = true, reason, text
}

// end writes the end record and flushes. After it nothing is recorded.
func (l *logWriter) end() error {
	if !l.stopped {
		l.buf = append(l.buf, byte(OpEnd))
		l.buf = binary.AppendUvarint(l.buf, l.records)
		l.records++
		l.flush()
		l.stopped = true
	}
	return l.err
}
