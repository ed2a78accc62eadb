package procfs

import (
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// Reading our own process must give plausible figures: some resident
// memory no larger than its peak, some CPU time after spending some, and
// the descriptors we hold (stdin, stdout and stderr at least, and a file
// we open).
func TestSelf(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("no /proc")
	}
	pid := os.Getpid()
	rss, hwm, err := Memory(pid)
	if err != nil || rss <= 0 || hwm < rss {
		t.Fatalf("Memory: rss %d hwm %d err %v", rss, hwm, err)
	}
	// CPU time moves in 10 ms ticks: spin until one shows, within a bound.
	var cpu time.Duration
	for x, start := 0, time.Now(); cpu == 0 && time.Since(start) < 5*time.Second; x++ {
		if x%1_000_000 == 0 {
			if cpu, err = CPU(pid); err != nil {
				t.Fatal(err)
			}
		}
	}
	if cpu <= 0 {
		t.Fatal("CPU time stayed 0 while spinning")
	}
	f, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fds, err := FDs(pid)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, fd := range fds {
		found = found || fd == int(f.Fd())
	}
	if !found || len(fds) < 4 {
		t.Fatalf("FDs %v do not hold the opened file's fd %d", fds, f.Fd())
	}
	if _, _, err := Memory(-1); err == nil {
		t.Fatal("Memory(-1) succeeded")
	}
}

// A listening socket of ours shows in the socket table with its port and
// state 10 (TCP_LISTEN), and the system's TCP memory figure parses.
func TestTCPSockets(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("no /proc")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	socks, err := TCPSockets()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range socks {
		found = found || s.LocalPort == port && s.State == 10 && s.RemotePort == 0
	}
	if !found {
		t.Fatalf("no listening socket on port %d among %d sockets", port, len(socks))
	}
	if _, err := TCPMemPages(); err != nil {
		t.Fatal(err)
	}
	if _, err := parseTCPLine([]string{"0:", "0100007F:zz", "00000000:0000", "0A", "0:0"}); err == nil {
		t.Fatal("a bad port parsed")
	}
}
