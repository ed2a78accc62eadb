//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mobsim/mobsim/internal/live"
	"github.com/mobsim/mobsim/server"
)

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
	logs   *syncBuffer
	code   int
	ended  bool
}

// startServer runs the server in-process with args (plus -addr
// 127.0.0.1:0) and waits until it listens. Cleanup stops it.
func startServer(t *testing.T, args ...string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{t: t, cancel: cancel, exit: make(chan int, 1), logs: &syncBuffer{}}
	readyc := make(chan *live.Loop, 1)
	args = append([]string{"-addr", "127.0.0.1:0"}, args...)
	go func() { s.exit <- run(ctx, args, s.logs, func(l *live.Loop) { readyc <- l }) }()
	select {
	case s.l = <-readyc:
	case code := <-s.exit:
		t.Fatalf("run exited with %d before listening; logs:\n%s", code, s.logs)
	case <-time.After(testTimeout):
		t.Fatalf("server not listening after %v", testTimeout)
	}
	t.Cleanup(func() {
		if !s.ended {
			s.stop()
		}
		if t.Failed() {
			t.Logf("server logs:\n%s", s.logs)
		}
	})
	return s
}

// stop cancels the server's context (as SIGTERM does) and returns run's
// exit status.
func (s *testServer) stop() int {
	s.t.Helper()
	s.cancel()
	return s.wait()
}

// wait waits for run to return, bounded.
func (s *testServer) wait() int {
	s.t.Helper()
	if s.ended {
		return s.code
	}
	select {
	case s.code = <-s.exit:
		s.ended = true
	case <-time.After(testTimeout):
		s.t.Fatalf("run did not return within %v of the stop", testTimeout)
	}
	return s.code
}

// stats asks the loop for a fresh snapshot.
func (s *testServer) stats() server.Stats { return s.l.Stats(time.Second) }

// waitStats polls the stats until cond holds, bounded.
func (s *testServer) waitStats(what string, cond func(server.Stats) bool) server.Stats {
	s.t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		st := s.stats()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			logStats(s.t, st)
			s.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// dial connects a client, with the test deadline on every read and write.
// rcvBufBytes > 0 sets SO_RCVBUF before the connect, so the window the
// client advertises is small from the handshake on.
func dial(t *testing.T, addr string, rcvBufBytes int) *net.TCPConn {
	t.Helper()
	d := net.Dialer{Timeout: testTimeout}
	if rcvBufBytes > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvBufBytes)
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	tc := c.(*net.TCPConn)
	if err := tc.SetDeadline(time.Now().Add(testTimeout)); err != nil {
		t.Fatalf("set deadline: %v", err)
	}
	t.Cleanup(func() { tc.Close() })
	return tc
}

// dialMembers connects n clients and waits until the server counts all of
// them as members, so that every one receives every frame sent after.
func (s *testServer) dialMembers(n, rcvBufBytes int) []*net.TCPConn {
	s.t.Helper()
	conns := make([]*net.TCPConn, n)
	for i := range conns {
		conns[i] = dial(s.t, s.l.Addr().String(), rcvBufBytes)
	}
	s.waitMembers(n)
	return conns
}

// waitMembers waits until the server counts n members.
func (s *testServer) waitMembers(n int) {
	s.t.Helper()
	s.waitStats(fmt.Sprint(n, " members"), func(st server.Stats) bool { return st.Members == n })
}

// syncBuffer is a bytes.Buffer safe for the server's logger and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
