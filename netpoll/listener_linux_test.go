package netpoll_test

import (
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netpoll"
)

// Accept on an empty backlog returns ErrWouldBlock and nothing else.
func TestAcceptEmptyBacklogWouldBlock(t *testing.T) {
	l := listen(t, "tcp4", "127.0.0.1:0")
	s, err := l.Accept()
	if s != nil || !errors.Is(err, kernel.ErrWouldBlock) {
		t.Fatalf("Accept = %v, %v; want nil, ErrWouldBlock", s, err)
	}
}

// One readable edge on the listener covers every pending connection: three
// connections are queued before the poll (TCP_INFO's tcpi_unacked is a
// listener's accept-queue length on Linux, so the test waits for 3 rather
// than trusting that Dial's return means the server saw the final ACK), and
// after one event Accept must return all three, then ErrWouldBlock.
func TestAcceptDrainsThreePendingAfterOneEvent(t *testing.T) {
	p := newPoller(t)
	l := listen(t, "tcp4", "127.0.0.1:0")
	mustRegister(t, p, l, 9, kernel.InterestRead)
	for range 3 {
		dial(t, l)
	}
	waitAcceptQueue(t, l, 3)
	waitFor(t, p, 9, "listener readable", isReadable)
	accepted := 0
	for {
		s, err := l.Accept()
		if errors.Is(err, kernel.ErrWouldBlock) {
			break
		}
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		s.Close()
		accepted++
		if accepted > 3 {
			t.Fatal("accepted more connections than were dialled")
		}
	}
	if accepted != 3 {
		t.Fatalf("accepted %d, want 3", accepted)
	}
}

// EMFILE from accept is wrapped so that errors.Is sees it, and the
// connection stays in the backlog: once a descriptor is free, Accept gets
// it. The soft fd limit is lowered for the test and every slot below it
// filled, so the next descriptor cannot be allocated.
func TestAcceptEMFILEIsWrappedAndRecoverable(t *testing.T) {
	l := listen(t, "tcp4", "127.0.0.1:0")
	dial(t, l)
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatalf("getrlimit: %v", err)
	}
	var fillers []int
	defer func() {
		for _, fd := range fillers {
			unix.Close(fd)
		}
	}()
	// Find the highest descriptor in use so the limit sits just above it.
	probe, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	fillers = append(fillers, probe)
	lim := old
	lim.Cur = uint64(probe) + 8
	if lim.Cur > old.Max {
		t.Skipf("hard fd limit %d too low", old.Max)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("setrlimit: %v", err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)
	for {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			break
		}
		fillers = append(fillers, fd)
	}
	_, err = l.Accept()
	if !errors.Is(err, syscall.EMFILE) {
		t.Fatalf("Accept with no free descriptor = %v, want EMFILE", err)
	}
	t.Logf("Accept: %v", err)
	unix.Close(fillers[len(fillers)-1])
	fillers = fillers[:len(fillers)-1]
	s, err := l.Accept()
	if err != nil {
		t.Fatalf("Accept after freeing a descriptor: %v", err)
	}
	s.Close()
}

// IPv6 loopback works end to end: listen on [::1], dial, exchange bytes.
// Skipped where the machine has no IPv6.
func TestIPv6Loopback(t *testing.T) {
	l, err := netpoll.Listen("tcp6", "[::1]:0", netpoll.ListenConfig{})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer l.Close()
	if a := l.Addr().(*net.TCPAddr); a.IP.To4() != nil || a.Port == 0 {
		t.Fatalf("listener address %v, want [::1]:port", a)
	}
	client, err := netpoll.DialTimeout("tcp6", l.Addr().String(), waitMax)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer client.Close()
	srv := acceptOne(t, l)
	if !strings.HasPrefix(srv.String(), "peer=[::1]:") {
		t.Fatalf("String() = %q, want peer=[::1]:...", srv.String())
	}
	p := newPoller(t)
	mustRegister(t, p, srv, 1, kernel.InterestRead)
	mustWrite(t, client, []byte("v6"))
	if got := readExactly(t, p, 1, srv, 2); string(got) != "v6" {
		t.Fatalf("read %q", got)
	}
}

// Every descriptor netpoll creates is non-blocking and close-on-exec.
func TestSocketsAreNonBlockingAndCloseOnExec(t *testing.T) {
	l := listen(t, "tcp4", "127.0.0.1:0")
	client := dial(t, l)
	srv := acceptOne(t, l)
	for name, fd := range map[string]int{"listener": l.FD(), "dialled": client.FD(), "accepted": srv.FD()} {
		fdFlags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil {
			t.Fatalf("%s: F_GETFD: %v", name, err)
		}
		flFlags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil {
			t.Fatalf("%s: F_GETFL: %v", name, err)
		}
		if fdFlags&unix.FD_CLOEXEC == 0 {
			t.Errorf("%s fd %d is not close-on-exec", name, fd)
		}
		if flFlags&unix.O_NONBLOCK == 0 {
			t.Errorf("%s fd %d is blocking", name, fd)
		}
	}
}

// Listen reports a bound port, and a busy port is an error that wraps
// EADDRINUSE; unknown networks are rejected.
func TestListenAddrAndErrors(t *testing.T) {
	l := listen(t, "tcp", "127.0.0.1:0")
	a := l.Addr().(*net.TCPAddr)
	if a.Port == 0 || !a.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("Addr() = %v", a)
	}
	if _, err := netpoll.Listen("tcp", a.String(), netpoll.ListenConfig{}); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second Listen on %v = %v, want EADDRINUSE", a, err)
	}
	if _, err := netpoll.Listen("udp", "127.0.0.1:0", netpoll.ListenConfig{}); err == nil {
		t.Fatal("Listen(udp) succeeded")
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := l.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close = %v, want net.ErrClosed", err)
	}
}

// waitAcceptQueue waits until l's accept queue holds n connections.
func waitAcceptQueue(t *testing.T, l *netpoll.Listener, n uint32) {
	t.Helper()
	deadline := time.Now().Add(waitMax)
	for {
		info, err := unix.GetsockoptTCPInfo(l.FD(), unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			t.Fatalf("getsockopt TCP_INFO: %v", err)
		}
		if info.Unacked == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("accept queue holds %d, want %d", info.Unacked, n)
		}
		time.Sleep(time.Millisecond)
	}
}
