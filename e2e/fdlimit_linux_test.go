package e2e

import (
	"bytes"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mobsim/mobsim/server"
)

// Goal: running out of descriptors (EMFILE) makes the server back off
// instead of spinning, keeps the connections it has, and serves the
// backlog once descriptors free up. Method: the mob binary runs as a child
// without the debug server (whose HTTP listener would need descriptors
// too); once it listens, the test lowers the child's RLIMIT_NOFILE with
// prlimit(2) to what it has open plus 8. 14 clients connect: the kernel
// completes every handshake, the server accepts 8 and then gets EMFILE, and
// 6 wait in the listen backlog. The server's log says which client
// addresses it accepted and that accepting paused. Checked while it sits at
// the limit: the child's CPU time over one second (utime+stime from
// /proc/<pid>/stat) stays under half a core, and the 8 members can chat.
// Then 6 members leave; the 6 waiting clients must be accepted and chat
// with the 2 remaining members, every frame reaching all 8.
//
// The CPU check is a resource bound, not a race against the clock: a
// server that retried accept in a busy loop would burn a whole core
// (about 1 s of CPU per second) whatever the machine's speed, while one
// that backs off uses almost none; 50% leaves a wide margin on a loaded
// machine, which can only make the measured share smaller, not larger.
func TestFDExhaustion(t *testing.T) {
	const room, waiting = 8, 6
	f := server.FramingLine
	seed := testSeed(t)
	p := startMob(t, true, "-accept-backoff-min", "10ms", "-accept-backoff-max", "200ms")
	fds := p.fds()
	limit := fdLimitLeaving(fds, room)
	if err := unix.Prlimit(p.Pid(), unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: limit, Max: limit}, nil); err != nil {
		t.Fatalf("prlimit: %v", err)
	}
	t.Logf("child has descriptors %v open; RLIMIT_NOFILE set to %d", fds, limit)

	accepted := regexp.MustCompile(`msg=accepted conn\.peer=(\S+) conn\.fd=\d+`)
	byAddr := map[string]*net.TCPConn{}
	for range room + waiting {
		c := dial(t, p.addr, sockOpts{})
		byAddr[c.LocalAddr().String()] = c
	}
	p.waitLog(regexp.MustCompile(`level=WARN msg="accept paused" err=".*too many open files"`))
	members := acceptedConns(t, p, accepted, byAddr, room)

	// At the limit, with 6 clients waiting in the backlog.
	cpu0, pauses0 := p.cpuTime(), p.Log().Count(regexp.MustCompile(`msg="accept paused"`))
	time.Sleep(time.Second)
	cpu1, pauses1 := p.cpuTime(), p.Log().Count(regexp.MustCompile(`msg="accept paused"`))
	busy := cpu1 - cpu0
	t.Logf("at the descriptor limit: %v of CPU in 1 s, %d accept pauses (back-off 10ms doubling to 200ms)",
		busy, pauses1-pauses0)
	if busy > 500*time.Millisecond {
		t.Errorf("server used %v of CPU in 1 s while at the descriptor limit: a busy loop", busy)
	}
	if n := len(p.Log().Matches(accepted)); n != room {
		t.Errorf("server accepted %d connections at a limit leaving room for %d", n, room)
	}
	g := startChat(t, f, seed, members, 5, 50, 0, nil)
	g.wait()

	// Six members leave; the backlog must be served.
	for _, c := range members[:waiting] {
		c.Close()
	}
	newcomers := acceptedConns(t, p, accepted, byAddr, room+waiting)[room:]
	chatters := append(append([]*net.TCPConn(nil), members[waiting:]...), newcomers...)
	g = startChat(t, f, seed+1, chatters, 10, 50, 0, nil)
	if order := g.wait(); len(order) != 10*len(chatters) {
		t.Errorf("after the backlog was served, the chat's order holds %d frames, want %d", len(order), 10*len(chatters))
	}

	for _, c := range chatters {
		c.Close()
	}
	if _, err := p.sigterm(); err != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0", err)
	}
	stopped := p.waitLog(regexp.MustCompile(`msg=stopped .*accept_errors=(\d+)`))
	if n, _ := strconv.Atoi(stopped[1]); n < 1 {
		t.Errorf("final counters: accept_errors=%s, want at least 1", stopped[1])
	}
	t.Logf("final counters: %s", stopped[0])
}

// acceptedConns waits until the server's log names n accepted client
// addresses and returns those clients, in the order accepted.
func acceptedConns(t *testing.T, p *mobProc, accepted *regexp.Regexp, byAddr map[string]*net.TCPConn, n int) []*net.TCPConn {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		ms := p.Log().Matches(accepted)
		if len(ms) >= n {
			var out []*net.TCPConn
			for _, m := range ms {
				c, ok := byAddr[m[1]]
				if !ok {
					t.Fatalf("server accepted %s, which is none of the test's clients", m[1])
				}
				out = append(out, c)
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("server accepted %d connections within %v, want %d", len(ms), testTimeout, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fdLimitLeaving returns the smallest RLIMIT_NOFILE under which exactly
// room descriptor numbers are free, given the numbers open. Descriptors
// inherited at high numbers do not count: a limit bounds the numbers, not
// how many are open.
func fdLimitLeaving(open []int, room int) uint64 {
	for limit := room; ; limit++ {
		used := 0
		for _, fd := range open {
			if fd < limit {
				used++
			}
		}
		if limit-used == room {
			return uint64(limit)
		}
	}
}

// Goal: at the descriptor limit the server keeps running while its heap
// grows and shrinks. The Go runtime opens its own epoll descriptor the
// first time a timer is armed, and aborts the process ("fatal error:
// runtime: netpollinit failed") if that fails with EMFILE; netpoll.New arms
// one at start for that reason; before it did, the first one came from the
// garbage collector's scavenger, at any time, and at the limit it killed the
// server. Method: the
// mob binary runs without the debug server (whose HTTP listener would
// initialise the runtime's poller at start); the test lowers its
// RLIMIT_NOFILE to leave room for 4 connections, 4 members join and a
// fifth client waits in the backlog; the members exchange 1 MiB frames for
// 2 s (the ring buffer grows, the collector and scavenger run). The server
// must still be running, every member must receive every frame, and once
// a member leaves the waiting client must be accepted.
func TestFDExhaustionUnderLoad(t *testing.T) {
	const room, frameBytes = 4, 1 << 20
	f := server.FramingMob
	p := startMob(t, true, "-framing", "mob", "-frame-bytes-max", strconv.Itoa(frameBytes),
		"-queue-bytes-max", strconv.Itoa(8*frameBytes), "-accept-backoff-max", "100ms")
	limit := fdLimitLeaving(p.fds(), room)
	if err := unix.Prlimit(p.Pid(), unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: limit, Max: limit}, nil); err != nil {
		t.Fatalf("prlimit: %v", err)
	}
	accepted := regexp.MustCompile(`msg=accepted conn\.peer=(\S+) conn\.fd=\d+`)
	byAddr := map[string]*net.TCPConn{}
	for range room {
		c := dial(t, p.addr, sockOpts{})
		byAddr[c.LocalAddr().String()] = c
	}
	members := acceptedConns(t, p, accepted, byAddr, room)
	waiting := dial(t, p.addr, sockOpts{})
	byAddr[waiting.LocalAddr().String()] = waiting
	p.waitLog(regexp.MustCompile(`msg="accept paused"`))

	readers := make([]*frameReader, room)
	for i, c := range members {
		readers[i] = newFrameReader(c, f, frameBytes)
	}
	body := bytes.Repeat([]byte{'x'}, frameBytes)
	rounds := 0
	for start := time.Now(); time.Since(start) < 2*time.Second; rounds++ {
		copy(body, fmt.Sprintf("round %d", rounds))
		if _, err := members[rounds%room].Write(f.Encode(nil, body)); err != nil {
			t.Fatalf("round %d: write: %v", rounds, err)
		}
		for i, r := range readers {
			b, err := r.Next()
			if err != nil {
				select {
				case <-p.Exited():
					t.Fatalf("round %d: the server died at the descriptor limit: %v", rounds, p.Err())
				case <-time.After(100 * time.Millisecond):
				}
				t.Fatalf("round %d: member %d: read: %v", rounds, i, err)
			}
			if !bytes.Equal(b, body) {
				t.Fatalf("round %d: member %d got a different frame", rounds, i)
			}
		}
	}
	t.Logf("%d frames of 1 MiB relayed to %d members at the descriptor limit", rounds, room)
	members[0].Close()
	acceptedConns(t, p, accepted, byAddr, room+1)
	select {
	case <-p.Exited():
		t.Fatalf("the server exited: %v", p.Err())
	default:
	}
}
