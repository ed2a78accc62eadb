package netrec

import (
	"strconv"
	"time"

	"github.com/mobsim/mobsim/kernel"
)

// dataQuoteBytesMax is how much of a record's data its text shows.
const dataQuoteBytesMax = 48

// AppendText appends the record as one line of text (no newline): its step,
// the recorded time, the call and its result, e.g.
//
//	000042 1.5ms read #3 len=65536 n=6 "hello\n" ok
//
// The text depends only on the record, so two passes over one recording
// print the same bytes.
func (rec *Record) AppendText(b []byte) []byte {
	b = appendPadded(b, rec.Step, 6)
	b = append(b, ' ')
	b = append(b, rec.Time.String()...)
	b = append(b, ' ')
	return rec.AppendCall(b)
}

// AppendCall appends the record as AppendText does without its step and
// time: the call and its result, e.g. `read #3 len=65536 n=6 "hello\n" ok`.
func (rec *Record) AppendCall(b []byte) []byte {
	switch rec.Op {
	case OpListen:
		return appendSource(append(b, "listen "...), rec.ID)
	case OpNow:
		return append(b, "now"...)
	case OpShutdown:
		return append(b, "shutdown"...)
	case OpStop:
		b = append(b, "stop "...)
		b = append(b, rec.Reason.String()...)
		b = append(b, ": "...)
		return append(b, rec.Text...)
	case OpEnd:
		return append(b, "end"...)
	case OpAccept:
		b = appendSource(append(b, "accept "...), rec.ID)
		if rec.Err == nil {
			b = appendSource(append(b, " -> "...), rec.NewID)
			if rec.Vector {
				b = append(b, " (writev)"...)
			}
			if rec.Closing {
				b = append(b, " (unacked, abort)"...)
			}
		}
		return appendErrText(b, rec.Err)
	case OpWriteBatch:
		b = strconv.AppendInt(append(b, "write-batch k="...), int64(len(rec.Batch)), 10)
		b = append(b, " ["...)
		for i := range rec.Batch {
			if i > 0 {
				b = append(b, "; "...)
			}
			r := rec.Batch[i].Record()
			c := callOf(&r)
			b = appendErrText(c.appendText(b), r.Err)
		}
		return append(b, ']')
	}
	c := callOf(rec)
	b = c.appendText(b)
	switch rec.Op {
	case OpNote:
		return b
	case OpPoll:
		b = append(b, " n="...)
		b = strconv.AppendInt(b, int64(rec.N), 10)
		b = append(b, " ["...)
		for i, ev := range rec.Events {
			if i > 0 {
				b = append(b, ' ')
			}
			b = strconv.AppendUint(append(b, "0x"...), uint64(ev.Token), 16)
			b = append(b, ':')
			b = append(b, ev.Ready.String()...)
		}
		b = append(b, ']')
	case OpRead:
		b = append(b, " n="...)
		b = strconv.AppendInt(b, int64(rec.N), 10)
		if rec.N > 0 {
			b = appendData(append(b, ' '), rec.Data)
		}
	case OpUnacked:
		if rec.Err == nil {
			b = strconv.AppendInt(append(b, " n="...), int64(rec.N), 10)
		}
	}
	return appendErrText(b, rec.Err)
}

// String renders the record as AppendText does.
func (rec *Record) String() string { return string(rec.AppendText(nil)) }

// String renders the call, e.g. `write #3 len=12 n=12 "hello world\n"`.
func (c *Call) String() string {
	if c.Op == 0 {
		return "nothing (the core stopped)"
	}
	return string(c.appendText(nil))
}

func (c *Call) appendText(b []byte) []byte {
	b = append(b, c.Op.String()...)
	if c.Op.hasSource() && c.Op != OpNote {
		b = appendSource(append(b, ' '), c.ID)
	}
	switch c.Op {
	case OpPoll:
		b = append(b, " timeout="...)
		b = append(b, time.Duration(c.Timeout).String()...)
		b = append(b, " len="...)
		b = strconv.AppendInt(b, int64(c.Len), 10)
	case OpRead:
		b = append(b, " len="...)
		b = strconv.AppendInt(b, int64(c.Len), 10)
	case OpWrite:
		b = append(b, " len="...)
		b = strconv.AppendInt(b, int64(c.Len), 10)
		b = appendWritten(b, c)
	case OpWritev:
		b = append(b, " bufs=["...)
		for i, n := range c.Bufs {
			if i > 0 {
				b = append(b, ' ')
			}
			b = strconv.AppendInt(b, int64(n), 10)
		}
		b = append(b, ']')
		b = appendWritten(b, c)
	case OpWriteBatch:
		calls := c.Batch
		if calls == nil && c.Writes != nil {
			calls = batchCalls(c, nil) // the core's, not yet cloned
		}
		b = strconv.AppendInt(append(b, " k="...), int64(len(calls)), 10)
		b = append(b, " ["...)
		for i := range calls {
			if i > 0 {
				b = append(b, "; "...)
			}
			b = calls[i].appendText(b)
		}
		b = append(b, ']')
	case OpRegister, OpReregister:
		b = strconv.AppendUint(append(b, " token=0x"...), uint64(c.Token), 16)
		b = append(b, " interest="...)
		b = appendInterest(b, c.Interest)
	case OpNote:
		b = append(b, ' ')
		b = append(b, c.Kind.String()...)
		b = appendSource(append(b, ' '), c.ID)
		b = strconv.AppendUint(append(b, " arg="...), c.Arg, 10)
	}
	return b
}

// appendWritten shows a write's bytes: for a recorded call the n written,
// for the core's call everything it asked to write.
func appendWritten(b []byte, c *Call) []byte {
	if c.N > 0 || c.Data != nil {
		b = append(b, " n="...)
		if c.N > 0 {
			b = strconv.AppendInt(b, int64(c.N), 10)
		} else {
			b = strconv.AppendInt(b, int64(len(c.Data)), 10)
		}
	}
	switch {
	case len(c.Data) > 0:
		b = appendData(append(b, ' '), c.Data)
	case c.HasDigest:
		b = strconv.AppendUint(append(b, " crc=0x"...), uint64(c.Digest), 16)
	}
	return b
}

// appendSource names a source by its id: "#3" (listeners and streams share
// one numbering).
func appendSource(b []byte, id uint64) []byte {
	return strconv.AppendUint(append(b, '#'), id, 10)
}

func appendInterest(b []byte, in kernel.Interest) []byte {
	switch in {
	case kernel.InterestRead:
		return append(b, 'R')
	case kernel.InterestWrite:
		return append(b, 'W')
	case kernel.InterestRead | kernel.InterestWrite:
		return append(b, "RW"...)
	}
	return strconv.AppendUint(b, uint64(in), 10)
}

// appendData quotes the first dataQuoteBytesMax bytes of p and says how
// many more there are.
func appendData(b, p []byte) []byte {
	q := p[:min(len(p), dataQuoteBytesMax)]
	b = strconv.AppendQuote(b, string(q))
	if len(p) > len(q) {
		b = strconv.AppendInt(append(b, "+"...), int64(len(p)-len(q)), 10)
	}
	return b
}

func appendErrText(b []byte, err error) []byte {
	if err == nil {
		return append(b, " ok"...)
	}
	return strconv.AppendQuote(append(b, " err="...), err.Error())
}

func appendPadded(b []byte, v uint64, width int) []byte {
	s := strconv.FormatUint(v, 10)
	for range width - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}
