package netpoll

import (
	"errors"
	"testing"

	"github.com/mobsim/mobsim/kernel"
	"golang.org/x/sys/unix"
)

// refuse is an io_uring_setup that fails as a kernel without io_uring
// (ENOSYS), one with kernel.io_uring_disabled set or a seccomp filter
// (EPERM), or one short of locked memory (ENOMEM) does.
func refuse(errno unix.Errno) uringSetupFunc {
	return func(uint32, *uringParams) (int, error) { return -1, errno }
}

// A refused io_uring_setup leaves WriteBatch on the writev loop, with the
// refusal as the reason, and the batch still works: one system call per
// write.
func TestRefusedSetupFallsBackToWritev(t *testing.T) {
	for _, errno := range []unix.Errno{unix.ENOSYS, unix.EPERM, unix.ENOMEM} {
		t.Run(errno.Error(), func(t *testing.T) {
			p, err := New()
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			p.batch.close()
			p.batch = startBatcher(Config{}, refuse(errno))
			path, reason := p.BatchPath()
			if path != BatchWritev || !errors.Is(reason, errno) {
				t.Fatalf("BatchPath = %v (%v), want writev because of %v", path, reason, errno)
			}
			t.Logf("reason: %v", reason)
			a, b := socketPair(t)
			ws := []kernel.BatchWrite{
				{Stream: a, Bufs: [kernel.BatchBufsMax][]byte{[]byte("x")}},
				{Stream: a, Bufs: [kernel.BatchBufsMax][]byte{[]byte("yz")}},
			}
			p.WriteBatch(ws)
			if ws[0].N != 1 || ws[1].N != 2 || ws[0].Err != nil || ws[1].Err != nil {
				t.Fatalf("batch = %+v", ws)
			}
			if got := p.BatchStats().Syscalls; got != 2 {
				t.Errorf("%d system calls for 2 writes on the writev loop", got)
			}
			buf := make([]byte, 8)
			if n, err := unix.Read(b.fd, buf); err != nil || string(buf[:n]) != "xyz" {
				t.Fatalf("peer read %q, %v", buf[:n], err)
			}
		})
	}
}

// A kernel that refuses the setup flags (before 5.19: EINVAL) gets a ring
// without them.
func TestSetupWithoutFlagsOnOlderKernels(t *testing.T) {
	var tries []uint32
	oldKernel := func(entries uint32, p *uringParams) (int, error) {
		tries = append(tries, p.flags)
		if p.flags != 0 {
			return -1, unix.EINVAL
		}
		return uringSetup(entries, p)
	}
	b := startBatcher(Config{}, oldKernel)
	defer b.close()
	if path, reason := b.path(); path != BatchIOUring {
		skipIfRefused(t, reason)
		t.Fatalf("path %v (%v), want io_uring", path, reason)
	}
	if len(tries) != 2 || tries[1] != 0 {
		t.Fatalf("setup tried flags %#x, want the flags then none", tries)
	}
}

// The trap the probe exists for: without MSG_DONTWAIT, a SENDMSG on a full
// non-blocking socket does not fail with EAGAIN but waits in the ring for
// room (io_uring arms a poll), so a batch would block. The probe sees it
// and says so; with MSG_DONTWAIT it passes.
func TestProbeCatchesASendThatWaits(t *testing.T) {
	r := testRing(t)
	if err := r.probe(uringSendFlags); err != nil {
		t.Fatalf("probe with MSG_DONTWAIT: %v", err)
	}
	if err := r.probe(unix.MSG_NOSIGNAL); !errors.Is(err, errIOUringWaits) {
		t.Fatalf("probe without MSG_DONTWAIT = %v, want %v", err, errIOUringWaits)
	}
}

// The ring's descriptor is close-on-exec, like every descriptor this
// package makes.
func TestRingIsCloseOnExec(t *testing.T) {
	r := testRing(t)
	flags, err := unix.FcntlInt(uintptr(r.fd), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	if flags&unix.FD_CLOEXEC == 0 {
		t.Fatalf("ring fd %d has flags %#x, no FD_CLOEXEC", r.fd, flags)
	}
}

// testRing is a small ring of the real kernel, closed at the test's end.
func testRing(t *testing.T) *uring {
	t.Helper()
	r, err := newURing(8, uringSetup)
	if err != nil {
		skipIfRefused(t, err)
		t.Fatal(err)
	}
	t.Cleanup(func() { r.close() })
	return r
}

func skipIfRefused(t *testing.T, reason error) {
	t.Helper()
	if errors.Is(reason, unix.ENOSYS) || errors.Is(reason, unix.EPERM) {
		t.Skipf("io_uring refused on this machine: %v", reason)
	}
}

// socketPair returns the two ends of a connected AF_UNIX stream pair as
// Conns (a batch writes to any stream socket).
func socketPair(t *testing.T) (*Conn, *Conn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := newConn(fds[0], nil), newConn(fds[1], nil)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}
