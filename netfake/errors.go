package netfake

import (
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/mobsim/mobsim/kernel"
)

// op names the syscall an error came from, for its context.
type op uint8

const (
	opRead op = iota
	opWrite
	opWritev
	opCloseWrite
	opClose
	opAccept
	opListen
	opRegister
	opReregister
	opDeregister
	opPoll
	opConnect
	opClientRead
	opClientWrite
	opClientShutdown
	opClientReset
	opClientClose
	opUnacked
	opAbort
	opCount
)

var opNames = [opCount]string{
	"read", "write", "writev", "shutdown", "close", "accept", "listen", "register",
	"reregister", "deregister", "poll", "connect", "client read", "client write",
	"client shutdown", "client reset", "client close", "ioctl SIOCOUTQ", "abort",
}

var errnoValues = [...]syscall.Errno{
	ECONNRESET: syscall.ECONNRESET, EPIPE: syscall.EPIPE, EBADF: syscall.EBADF,
	EMFILE: syscall.EMFILE, ECONNABORTED: syscall.ECONNABORTED,
	ECONNREFUSED: syscall.ECONNREFUSED, EEXIST: syscall.EEXIST, ENOENT: syscall.ENOENT,
	EINVAL: syscall.EINVAL, ENOTCONN: syscall.ENOTCONN, EINPROGRESS: syscall.EINPROGRESS,
	ETIMEDOUT: syscall.ETIMEDOUT, ENOTSUP: syscall.ENOTSUP,
}

// errTable holds one wrapped error per (op, errno), built once, so that
// failing syscalls carry context ("netfake: write: broken pipe") and still
// allocate nothing. errors.Is(err, syscall.EPIPE) holds for them.
var errTable = func() (t [opCount][len(errnoValues)]error) {
	for o := range t {
		for e, v := range errnoValues {
			if v != 0 {
				t[o][e] = fmt.Errorf("netfake: %s: %w", opNames[o], v)
			}
		}
	}
	return t
}()

// errOf maps an outcome to the error value a syscall returns.
func errOf(o op, e Errno) error {
	switch e {
	case OK:
		return nil
	case EAGAIN:
		return kernel.ErrWouldBlock
	case EOF:
		return io.EOF
	case EINTR:
		return kernel.ErrInterrupted
	}
	return errTable[o][e]
}

// ErrnoOf maps an error returned by this package back to its Errno, for
// tests and the simulator's bookkeeping.
func ErrnoOf(err error) Errno {
	switch {
	case err == nil:
		return OK
	case errors.Is(err, kernel.ErrWouldBlock):
		return EAGAIN
	case errors.Is(err, io.EOF):
		return EOF
	case errors.Is(err, kernel.ErrInterrupted):
		return EINTR
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		for e, v := range errnoValues {
			if v != 0 && v == en {
				return Errno(e)
			}
		}
	}
	return EINVAL
}
