package netpoll_test

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netpoll"
	"golang.org/x/sys/unix"
)

// seccompChildEnv marks the child process of TestSeccompRefusalFallsBack.
const seccompChildEnv = "NETPOLL_TEST_SECCOMP_CHILD"

// auditArch is the seccomp architecture of the filter below, per GOARCH.
var auditArch = map[string]uint32{
	"amd64": unix.AUDIT_ARCH_X86_64,
	"arm64": unix.AUDIT_ARCH_AARCH64,
}

// A real refusal rather than a simulated one: a child process installs a
// seccomp filter under which io_uring_setup fails with EPERM (what a
// container runtime's default profile does), and there New falls back to
// the writev loop, gives EPERM as the reason, and batches still work. The
// filter cannot be removed, hence the child.
func TestSeccompRefusalFallsBack(t *testing.T) {
	arch, ok := auditArch[runtime.GOARCH]
	if !ok {
		t.Skipf("no seccomp filter written for %s", runtime.GOARCH)
	}
	if os.Getenv(seccompChildEnv) == "1" {
		seccompChild(t, arch)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSeccompRefusalFallsBack$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), seccompChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil {
		t.Fatalf("child failed: %v", err)
	}
	if !strings.Contains(string(out), "fell back: ") {
		t.Fatal("the child did not run the check")
	}
}

func seccompChild(t *testing.T, arch uint32) {
	denyIOUringSetup(t, arch)
	p, err := netpoll.New()
	if err != nil {
		t.Fatalf("New under seccomp: %v", err)
	}
	defer p.Close()
	path, reason := p.BatchPath()
	if path != netpoll.BatchWritev || !errors.Is(reason, unix.EPERM) {
		t.Fatalf("BatchPath under seccomp = %v (%v), want writev because of EPERM", path, reason)
	}
	t.Logf("fell back: %v", reason)
	peer, srv := pair(t)
	mustRegister(t, p, peer, 1, kernel.InterestRead)
	ws := []kernel.BatchWrite{write1(srv, []byte("ab")), write1(srv, []byte("c"))}
	p.WriteBatch(ws)
	if got := readExactly(t, p, 1, peer, 3); string(got) != "abc" {
		t.Fatalf("peer read %q", got)
	}
}

// denyIOUringSetup installs, on every thread of the process, a seccomp
// filter that fails io_uring_setup with EPERM and allows everything else.
func denyIOUringSetup(t *testing.T, arch uint32) {
	t.Helper()
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 4}, // seccomp_data.arch
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: arch, Jf: 3},
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // seccomp_data.nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: unix.SYS_IO_URING_SETUP, Jf: 1},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		t.Fatalf("prctl(PR_SET_NO_NEW_PRIVS): %v", err)
	}
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC,
		uintptr(unsafe.Pointer(&fprog))); errno != 0 {
		t.Fatalf("seccomp(SET_MODE_FILTER): %v", errno)
	}
}
