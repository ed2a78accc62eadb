package main

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/mobsim/mobsim/internal/child"
	"github.com/mobsim/mobsim/internal/live"
	"github.com/mobsim/mobsim/internal/wire"
	"github.com/mobsim/mobsim/server"
)

// The tests here are of the command itself (flags, setup errors, the debug
// server), with run() in-process so that its goroutines run under the race
// detector; the server's behaviour on real sockets is tested end to end,
// on the built binary, in package e2e.

// testTimeout bounds every real-socket test: each connection's deadline,
// and each wait for the server.
const testTimeout = 15 * time.Second

// testServer is run() in a goroutine, on 127.0.0.1:0, with its logs kept
// for a failure report.
type testServer struct {
	t      *testing.T
	l      *live.Loop
	cancel context.CancelFunc
	exit   chan int
	logs   *child.Lines
	code   int
	ended  bool
}

// startServer runs the server in-process with args (plus -addr
// 127.0.0.1:0) and waits until it listens. Cleanup stops it.
func startServer(t *testing.T, args ...string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{t: t, cancel: cancel, exit: make(chan int, 1), logs: child.NewLines()}
	readyc := make(chan *live.Loop, 1)
	args = append([]string{"-addr", "127.0.0.1:0", ioURingFlag()}, args...)
	go func() { s.exit <- run(ctx, args, s.logs, func(l *live.Loop) { readyc <- l }) }()
	select {
	case s.l = <-readyc:
	case code := <-s.exit:
		t.Fatalf("run exited with %d before listening; logs:\n%s", code, s.logs.Tail(100))
	case <-time.After(testTimeout):
		t.Fatalf("server not listening after %v", testTimeout)
	}
	t.Cleanup(func() {
		if !s.ended {
			s.stop()
		}
		if t.Failed() {
			t.Logf("server logs:\n%s", s.logs.Tail(400))
		}
	})
	return s
}

// ioURingFlag is -io-uring as the environment asks for it
// (live.IOUringEnv): `make test` runs these tests with io_uring on and off.
func ioURingFlag() string {
	return fmt.Sprintf("-io-uring=%v", !live.IOUringOffByEnv())
}

// stop cancels the server's context (as SIGTERM does) and returns run's
// exit status, bounded.
func (s *testServer) stop() int {
	s.t.Helper()
	s.cancel()
	select {
	case s.code = <-s.exit:
		s.ended = true
	case <-time.After(testTimeout):
		s.t.Fatalf("run did not return within %v of the stop", testTimeout)
	}
	return s.code
}

// waitStats polls the loop's stats until cond holds, bounded.
func (s *testServer) waitStats(what string, cond func(server.Stats) bool) server.Stats {
	s.t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		st := s.l.Stats(time.Second)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s; stats %+v", what, st)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// dialMembers connects n clients, with the test deadline on every read and
// write, and waits until the server counts all of them as members.
func (s *testServer) dialMembers(n int) []*net.TCPConn {
	s.t.Helper()
	conns := make([]*net.TCPConn, n)
	for i := range conns {
		c, err := wire.Dial(s.l.Addr().String(), wire.DialOptions{Timeout: testTimeout, Deadline: time.Now().Add(testTimeout)})
		if err != nil {
			s.t.Fatalf("dial: %v", err)
		}
		s.t.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	s.waitStats(fmt.Sprint(n, " members"), func(st server.Stats) bool { return st.Members == n })
	return conns
}
