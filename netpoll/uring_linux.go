//go:build linux

package netpoll

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/mobsim/mobsim/kernel"
	"golang.org/x/sys/unix"
)

// The part of the io_uring ABI (include/uapi/linux/io_uring.h) this ring
// uses; x/sys/unix has the system call numbers but none of this.
const (
	uringSetupSubmitAll   = 1 << 7     // IORING_SETUP_SUBMIT_ALL (5.18): submit past an SQE that fails
	uringSetupCoopTaskrun = 1 << 8     // IORING_SETUP_COOP_TASKRUN (5.19): no IPI to post a completion
	uringFeatSingleMmap   = 1 << 0     // IORING_FEAT_SINGLE_MMAP (5.4): SQ and CQ rings in one mapping
	uringOpSendmsg        = 9          // IORING_OP_SENDMSG (5.3)
	uringEnterGetevents   = 1 << 0     // IORING_ENTER_GETEVENTS: wait for min_complete completions
	uringOffSQRing        = 0          // IORING_OFF_SQ_RING: mmap offset of the rings
	uringOffSQEs          = 0x10000000 // IORING_OFF_SQES: mmap offset of the SQE array
)

// uringSendFlags are every SENDMSG's flags. MSG_DONTWAIT is what makes a
// send on a full socket complete with -EAGAIN: without it io_uring does
// not fail the request but arms a poll on the socket and completes it once
// there is room, and the batch's io_uring_enter, waiting for every
// completion, would block the event loop (the socket's O_NONBLOCK does not
// count: io_uring sets REQ_F_NOWAIT from MSG_DONTWAIT alone). MSG_NOSIGNAL:
// EPIPE and no SIGPIPE, as send(2) on this package's sockets; io_uring adds
// it to every send anyway, which is no reason to rely on that.
const uringSendFlags = unix.MSG_DONTWAIT | unix.MSG_NOSIGNAL

// uringSQE is struct io_uring_sqe (64 bytes), with the union members a
// SENDMSG uses.
type uringSQE struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64
	addr        uint64 // *unix.Msghdr
	len         uint32
	msgFlags    uint32
	userData    uint64 // index of the write in its batch
	bufIndex    uint16
	personality uint16
	spliceFdIn  int32
	addr3       uint64
	pad         uint64
}

// uringCQE is struct io_uring_cqe (16 bytes; no IORING_SETUP_CQE32).
type uringCQE struct {
	userData uint64
	res      int32 // bytes sent, or -errno
	flags    uint32
}

// uringParams is struct io_uring_params (120 bytes).
type uringParams struct {
	sqEntries    uint32
	cqEntries    uint32
	flags        uint32
	sqThreadCPU  uint32
	sqThreadIdle uint32
	features     uint32
	wqFd         uint32
	resv         [3]uint32
	sqOff        uringSQOffsets
	cqOff        uringCQOffsets
}

// uringSQOffsets is struct io_sqring_offsets.
type uringSQOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

// uringCQOffsets is struct io_cqring_offsets.
type uringCQOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

// The ABI's sizes, checked at compile time.
var (
	_ [64]byte  = [unsafe.Sizeof(uringSQE{})]byte{}
	_ [16]byte  = [unsafe.Sizeof(uringCQE{})]byte{}
	_ [120]byte = [unsafe.Sizeof(uringParams{})]byte{}
)

// uringSetupFunc is io_uring_setup(2); tests pass one that refuses.
type uringSetupFunc func(entries uint32, p *uringParams) (int, error)

// uringSetup is the real io_uring_setup(2). The ring's descriptor is
// close-on-exec from birth (the kernel always opens it so).
func uringSetup(entries uint32, p *uringParams) (int, error) {
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// uringEnter is io_uring_enter(2) without a signal mask. It may wait, so it
// goes through Syscall6 (the scheduler is told) rather than RawSyscall6.
func uringEnter(fd int, toSubmit, minComplete, flags uint32) (int, error) {
	n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(fd), uintptr(toSubmit), uintptr(minComplete),
		uintptr(flags), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// errIOUringWaits is the probe's verdict on a kernel that does not fail a
// MSG_DONTWAIT send on a full socket with EAGAIN but waits for room.
var errIOUringWaits = errors.New("netpoll: io_uring waits on a full socket instead of failing with EAGAIN")

// uring is an io_uring instance that makes a batch's writes as SENDMSG
// requests, all submitted and reaped in one io_uring_enter. It is used by
// one goroutine at a time (the event loop's, like the Poller).
//
// Every write completes before write returns, so what the kernel reads (the
// message headers and iovecs here, the callers' buffers they point at) is
// only read during a call: the headers live in Go's heap, which does not
// move, and iovs keeps the buffers alive until it is cleared.
type uring struct {
	fd     int
	rings  []byte // SQ and CQ rings: one mapping (IORING_FEAT_SINGLE_MMAP)
	sqeMem []byte // the SQE array

	sqHead *uint32 // advanced by the kernel as it takes SQEs
	sqTail *uint32 // advanced here; tail is its copy
	cqHead *uint32 // advanced here as completions are reaped
	cqTail *uint32 // advanced by the kernel as it posts completions
	sqMask uint32
	cqMask uint32
	tail   uint32

	sqes []uringSQE
	cqes []uringCQE
	msgs []unix.Msghdr // the message header of the SQE in each slot
	iovs []unix.Iovec  // kernel.BatchBufsMax per slot
	done []bool        // per write of the chunk under way: finished
}

// newURing sets up a ring of at least entries submission slots. A kernel
// before 5.19 refuses the setup flags (EINVAL); the ring then goes without.
func newURing(entries uint32, setup uringSetupFunc) (*uring, error) {
	p := uringParams{flags: uringSetupSubmitAll | uringSetupCoopTaskrun}
	fd, err := setup(entries, &p)
	if err == unix.EINVAL {
		p = uringParams{}
		fd, err = setup(entries, &p)
	}
	if err != nil {
		return nil, fmt.Errorf("netpoll: io_uring_setup: %w", err)
	}
	r := &uring{fd: fd}
	if err := r.mapRings(&p); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

// mapRings maps the rings and the SQE array and points the ring's fields
// into them.
func (r *uring) mapRings(p *uringParams) error {
	if p.features&uringFeatSingleMmap == 0 {
		return errors.New("netpoll: io_uring before Linux 5.4 (no IORING_FEAT_SINGLE_MMAP)")
	}
	sqSize := p.sqOff.array + p.sqEntries*4
	cqSize := p.cqOff.cqes + p.cqEntries*uint32(unsafe.Sizeof(uringCQE{}))
	rings, err := unix.Mmap(r.fd, uringOffSQRing, int(max(sqSize, cqSize)),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("netpoll: io_uring mmap rings: %w", err)
	}
	r.rings = rings
	sqeMem, err := unix.Mmap(r.fd, uringOffSQEs, int(p.sqEntries)*int(unsafe.Sizeof(uringSQE{})),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("netpoll: io_uring mmap SQEs: %w", err)
	}
	r.sqeMem = sqeMem

	at := func(off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&rings[off])) }
	r.sqHead, r.sqTail = at(p.sqOff.head), at(p.sqOff.tail)
	r.cqHead, r.cqTail = at(p.cqOff.head), at(p.cqOff.tail)
	r.sqMask, r.cqMask = *at(p.sqOff.ringMask), *at(p.cqOff.ringMask)
	r.tail = atomic.LoadUint32(r.sqTail)
	// SQE i always sits in slot i, so the indirection array is set once.
	array := unsafe.Slice(at(p.sqOff.array), p.sqEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	r.sqes = unsafe.Slice((*uringSQE)(unsafe.Pointer(&sqeMem[0])), p.sqEntries)
	r.cqes = unsafe.Slice((*uringCQE)(unsafe.Pointer(&rings[p.cqOff.cqes])), p.cqEntries)
	r.msgs = make([]unix.Msghdr, p.sqEntries)
	r.iovs = make([]unix.Iovec, int(p.sqEntries)*kernel.BatchBufsMax)
	r.done = make([]bool, p.sqEntries)
	return nil
}

// write makes the writes of ws, a submission queue's worth per
// io_uring_enter. If the ring fails, the writes it did not take are made
// with Writev and the error is returned: the ring must not be used again.
func (r *uring) write(ws []kernel.BatchWrite, st *BatchStats) error {
	for len(ws) > 0 {
		n := min(len(ws), len(r.msgs))
		if err := r.writeChunk(ws[:n], st); err != nil {
			writeEach(ws[n:], st)
			return err
		}
		ws = ws[n:]
	}
	return nil
}

// writeChunk makes at most a submission queue's worth of writes.
func (r *uring) writeChunk(ws []kernel.BatchWrite, st *BatchStats) error {
	queued := uint32(0)
	for i := range ws {
		w := &ws[i]
		w.N, w.Err = 0, nil
		r.done[i] = true
		c, ok := w.Stream.(*Conn)
		if !ok {
			w.Err = errForeignStream(w.Stream)
			continue
		}
		if r.prepare(queued, uint64(i), c.fd, &w.Bufs) {
			r.done[i] = false
			queued++
		}
	}
	if queued == 0 {
		return nil
	}
	r.tail += queued
	atomic.StoreUint32(r.sqTail, r.tail)
	err := r.submitAndWait(ws, queued, st)
	clear(r.iovs[:queued*kernel.BatchBufsMax]) // hold no reference to a caller's buffer past the batch
	return err
}

// prepare fills the SQE and message header of submission slot for one
// write, and reports false (nothing to submit) if its buffers are empty.
func (r *uring) prepare(slot uint32, userData uint64, fd int, bufs *[kernel.BatchBufsMax][]byte) bool {
	iov := r.iovs[slot*kernel.BatchBufsMax : (slot+1)*kernel.BatchBufsMax]
	k := 0
	for _, b := range bufs {
		if len(b) > 0 {
			iov[k].Base = &b[0]
			iov[k].SetLen(len(b))
			k++
		}
	}
	if k == 0 {
		return false
	}
	msg := &r.msgs[slot]
	msg.Iov = &iov[0]
	msg.SetIovlen(k)
	r.sqes[(r.tail+slot)&r.sqMask] = uringSQE{
		opcode:   uringOpSendmsg,
		fd:       int32(fd),
		addr:     uint64(uintptr(unsafe.Pointer(msg))),
		len:      1,
		msgFlags: uringSendFlags,
		userData: userData,
	}
	return true
}

// submitAndWait submits the queued SQEs and waits for all their
// completions, normally in one io_uring_enter: every send completes inline
// (it never waits for room), so the wait is already over when the
// submission ends. A submission the kernel cut short (EINTR, or an SQE it
// refused on a kernel without IORING_SETUP_SUBMIT_ALL) is resumed.
func (r *uring) submitAndWait(ws []kernel.BatchWrite, queued uint32, st *BatchStats) error {
	for reaped := uint32(0); reaped < queued; {
		toSubmit := r.tail - atomic.LoadUint32(r.sqHead)
		_, err := uringEnter(r.fd, toSubmit, queued-reaped, uringEnterGetevents)
		st.Syscalls++
		reaped += r.reap(ws, st)
		if err != nil && err != unix.EINTR {
			err = fmt.Errorf("netpoll: io_uring_enter: %w", err)
			r.abandon(ws, st, err)
			return err
		}
	}
	return nil
}

// reap reads every posted completion into its write and returns how many
// there were.
func (r *uring) reap(ws []kernel.BatchWrite, st *BatchStats) uint32 {
	head := atomic.LoadUint32(r.cqHead)
	tail := atomic.LoadUint32(r.cqTail)
	for h := head; h != tail; h++ {
		e := r.cqes[h&r.cqMask]
		if e.userData >= uint64(len(ws)) {
			continue // not a write of this chunk; cannot happen
		}
		w := &ws[e.userData]
		w.N, w.Err = sendResult(w, e.res, st)
		r.done[e.userData] = true
	}
	atomic.StoreUint32(r.cqHead, tail)
	return tail - head
}

// sendResult maps a SENDMSG's completion to Writev's result: the count,
// ErrWouldBlock for EAGAIN, the wrapped errno otherwise. An EINTR (a send
// that had to wait, which MSG_DONTWAIT rules out) is retried with Writev,
// which retries EINTR, so it never reaches the caller.
func sendResult(w *kernel.BatchWrite, res int32, st *BatchStats) (int, error) {
	if res >= 0 {
		return int(res), nil
	}
	switch errno := unix.Errno(-res); errno {
	case unix.EAGAIN:
		return 0, kernel.ErrWouldBlock
	case unix.EINTR:
		return writeOne(w, st)
	default:
		return 0, fmt.Errorf("netpoll: io_uring sendmsg %v: %w", w.Stream, errno)
	}
}

// abandon finishes a chunk whose io_uring_enter failed: the writes the
// kernel has not taken are made with Writev; those it took but has not
// completed fail with err, since whether their bytes went out is unknown
// (the caller then closes those streams).
func (r *uring) abandon(ws []kernel.BatchWrite, st *BatchStats, err error) {
	for h := atomic.LoadUint32(r.sqHead); h != r.tail; h++ {
		i := r.sqes[h&r.sqMask].userData
		ws[i].N, ws[i].Err = writeOne(&ws[i], st)
		r.done[i] = true
	}
	for i := range ws {
		if !r.done[i] {
			ws[i].N, ws[i].Err = 0, err
		}
	}
}

// probe checks, once at setup, that the kernel runs a batch's send the way
// the batch needs: a MSG_DONTWAIT SENDMSG on a socket with no room must
// complete at once, with EAGAIN. A kernel that lacks IORING_OP_SENDMSG
// fails it with EINVAL; one that waits for room leaves it pending (the
// ring's teardown then cancels it). flags are the send flags to try.
func (r *uring) probe(flags uint32) error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netpoll: io_uring probe: socketpair: %w", err)
	}
	defer unix.Close(fds[1])
	defer unix.Close(fds[0])
	// The smallest send buffer, so that a few writes fill it.
	if err := unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF, 1); err != nil {
		return fmt.Errorf("netpoll: io_uring probe: setsockopt SO_SNDBUF: %w", err)
	}
	chunk := make([]byte, 4096)
	for {
		_, err := unix.Write(fds[0], chunk)
		if err == unix.EAGAIN {
			break
		}
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("netpoll: io_uring probe: fill socket: %w", err)
		}
	}
	var bufs [kernel.BatchBufsMax][]byte
	bufs[0] = chunk[:1]
	r.prepare(0, 0, fds[0], &bufs)
	r.sqes[r.tail&r.sqMask].msgFlags = flags
	r.tail++
	atomic.StoreUint32(r.sqTail, r.tail)
	defer clear(r.iovs[:kernel.BatchBufsMax])
	if _, err := uringEnter(r.fd, 1, 0, 0); err != nil {
		return fmt.Errorf("netpoll: io_uring probe: io_uring_enter: %w", err)
	}
	if atomic.LoadUint32(r.cqTail) == atomic.LoadUint32(r.cqHead) {
		// Give deferred completion work one chance to run.
		if _, err := uringEnter(r.fd, 0, 0, uringEnterGetevents); err != nil {
			return fmt.Errorf("netpoll: io_uring probe: io_uring_enter: %w", err)
		}
	}
	head := atomic.LoadUint32(r.cqHead)
	if atomic.LoadUint32(r.cqTail) == head {
		return errIOUringWaits
	}
	res := r.cqes[head&r.cqMask].res
	atomic.StoreUint32(r.cqHead, head+1)
	switch {
	case res == -int32(unix.EAGAIN):
		return nil
	case res == -int32(unix.EINVAL):
		return errors.New("netpoll: io_uring probe: the kernel lacks IORING_OP_SENDMSG (before Linux 5.3)")
	case res < 0:
		return fmt.Errorf("netpoll: io_uring probe: sendmsg on a full socket: %w, want EAGAIN", unix.Errno(-res))
	}
	return fmt.Errorf("netpoll: io_uring probe: sendmsg on a full socket sent %d bytes, want EAGAIN", res)
}

// close unmaps the ring and closes its descriptor, which cancels anything
// still pending in it.
func (r *uring) close() error {
	var first error
	for _, m := range [...][]byte{r.sqeMem, r.rings} {
		if m == nil {
			continue
		}
		if err := unix.Munmap(m); err != nil && first == nil {
			first = fmt.Errorf("netpoll: io_uring munmap: %w", err)
		}
	}
	r.sqeMem, r.rings = nil, nil
	if err := unix.Close(r.fd); err != nil && first == nil {
		first = fmt.Errorf("netpoll: io_uring close fd=%d: %w", r.fd, err)
	}
	return first
}
