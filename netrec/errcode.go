package netrec

import (
	"encoding/binary"
	"errors"
	"io"
	"syscall"

	"github.com/mobsim/mobsim/kernel"
)

// An error is written as a uvarint code<<1|hasText, then the errno number
// for errOtherErrno, then the text (uvarint length and bytes) if hasText.
// The text is kept when it differs from the canonical value's own, so a
// replayed error says what the live one said ("netpoll: read peer=...:
// connection reset by peer").
const (
	errNil         = iota // no error
	errWouldBlock         // kernel.ErrWouldBlock
	errInterrupted        // kernel.ErrInterrupted
	errEOF                // io.EOF
	errOtherErrno         // a syscall.Errno not in errnoTable: number, then text
	errText               // anything else: text only
	errnoBase             // errnoTable[i] is code errnoBase+i
)

// errnoTable names the errnos a replay maps by name, not number, so a
// recording made on Linux replays on a BSD (ECONNRESET is 104 on one and
// 54 on the other). The order is part of the format: append only.
var errnoTable = [...]syscall.Errno{
	syscall.ECONNRESET, syscall.EPIPE, syscall.EMFILE, syscall.ENFILE,
	syscall.ECONNABORTED, syscall.ENOBUFS, syscall.ENOTCONN, syscall.EINTR,
	syscall.EPROTO, syscall.EPERM, syscall.ENOMEM, syscall.EBADF,
	syscall.EINVAL, syscall.ETIMEDOUT, syscall.ECONNREFUSED, syscall.ENETDOWN,
	syscall.ENETUNREACH, syscall.EHOSTUNREACH, syscall.EIO, syscall.ENOENT,
	syscall.EEXIST, syscall.EAGAIN,
}

const errCodeMax = errnoBase + len(errnoTable) - 1

// canonical returns the value a code stands for (nil for errOtherErrno and
// errText, which have none of their own).
func canonical(code int) error {
	switch {
	case code == errWouldBlock:
		return kernel.ErrWouldBlock
	case code == errInterrupted:
		return kernel.ErrInterrupted
	case code == errEOF:
		return io.EOF
	case code >= errnoBase && code <= errCodeMax:
		return errnoTable[code-errnoBase]
	}
	return nil
}

// appendErr writes err. The common outcomes (nil, would-block, EOF) take
// one byte and never allocate; other errors are rare and may (Error builds
// their text).
func appendErr(b []byte, err error) []byte {
	switch err {
	case nil:
		return append(b, errNil<<1)
	case kernel.ErrWouldBlock:
		return append(b, errWouldBlock<<1)
	case io.EOF:
		return append(b, errEOF<<1)
	case kernel.ErrInterrupted:
		return append(b, errInterrupted<<1)
	}
	code, num := classify(err)
	text := err.Error()
	if c := canonical(code); c != nil && c.Error() == text {
		return binary.AppendUvarint(b, uint64(code)<<1)
	}
	b = binary.AppendUvarint(b, uint64(code)<<1|1)
	if code == errOtherErrno {
		b = binary.AppendUvarint(b, uint64(num))
	}
	if len(text) > errTextBytesMax {
		text = text[:errTextBytesMax]
	}
	return appendString(b, text)
}

// classify finds what err is for the server's errors.Is checks: one of the
// seam's sentinels, io.EOF, an errno (by name when it is in errnoTable),
// or nothing but its text.
func classify(err error) (code int, errno syscall.Errno) {
	switch {
	case errors.Is(err, kernel.ErrWouldBlock):
		return errWouldBlock, 0
	case errors.Is(err, kernel.ErrInterrupted):
		return errInterrupted, 0
	case errors.Is(err, io.EOF):
		return errEOF, 0
	}
	var en syscall.Errno
	if !errors.As(err, &en) {
		return errText, 0
	}
	for i, v := range errnoTable {
		if v == en {
			return errnoBase + i, 0
		}
	}
	return errOtherErrno, en
}

// recordedError is a replayed error: the live error's text, and the value
// errors.Is finds through it (nil when only the text was known).
type recordedError struct {
	text string
	is   error
}

func (e *recordedError) Error() string { return e.text }
func (e *recordedError) Unwrap() error { return e.is }

// errKey identifies a replayed error, so each distinct one is built once.
type errKey struct {
	code int
	num  uint64
	text string
}

// errorOf rebuilds the error a record holds. sameOS says the recording was
// made on this GOOS, so an errno outside errnoTable means the same here.
func errorOf(k errKey, hasText, sameOS bool) error {
	c := canonical(k.code)
	if !hasText {
		return c
	}
	if k.code == errOtherErrno && sameOS {
		c = syscall.Errno(k.num)
	}
	return &recordedError{text: k.text, is: c}
}
