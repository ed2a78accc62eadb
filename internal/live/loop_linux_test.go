package live

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mobsim/mobsim/internal/child"
	"github.com/mobsim/mobsim/internal/wire"
	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netpoll"
	"github.com/mobsim/mobsim/server"
)

const testTimeout = 15 * time.Second

// recorder is an Observer that buffers what it sees, as the soak's does,
// and a BeforeTick that flushes it; it checks that nothing is left
// unflushed when the loop polls, and counts the calls.
type recorder struct {
	mu       sync.Mutex // the test reads what the loop goroutine wrote
	pending  []string
	flushed  []string
	calls    int
	failWith error
}

func (r *recorder) note(s string) { r.pending = append(r.pending, s) }

func (r *recorder) Joined(kernel.Stream)                         { r.note("joined") }
func (r *recorder) Left(_ kernel.Stream, c server.CloseReason)   { r.note("left " + c.String()) }
func (r *recorder) Closed(_ kernel.Stream, c server.CloseReason) { r.note("closed " + c.String()) }
func (r *recorder) Frame(kernel.Stream, []byte, []byte)          { r.note("frame") }

func (r *recorder) beforeTick() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	r.flushed = append(r.flushed, r.pending...)
	r.pending = r.pending[:0]
	return r.failWith
}

func listen(t *testing.T, rec *recorder, log *slog.Logger) *Loop {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Logger = log
	c := Config{Addr: "127.0.0.1:0", Server: cfg, Poller: netpoll.Config{NoIOUring: IOUringOffByEnv()}}
	if rec != nil {
		cfg.Observer = rec
		c.Server, c.BeforeTick = cfg, rec.beforeTick
	}
	l, err := Listen(c)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func dial(t *testing.T, l *Loop) *net.TCPConn {
	t.Helper()
	c, err := wire.Dial(l.Addr().String(), wire.DialOptions{Timeout: testTimeout, Deadline: time.Now().Add(testTimeout)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitServed waits, bounded, for what to return on served without error.
func waitServed(t *testing.T, served <-chan error, what string) {
	t.Helper()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(testTimeout):
		t.Fatalf("%s: still running %v later", what, testTimeout)
	}
}

// waitStats asks for snapshots until cond holds, bounded.
func waitStats(t *testing.T, l *Loop, what string, cond func(server.Stats) bool) server.Stats {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		st := l.Stats(time.Second)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; stats %+v", what, st)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Goal: the loop serves on real sockets, Stats and Stop work from other
// goroutines while it runs, and the stop is graceful: what was read is
// delivered, each client gets a clean end of stream, Serve returns nil and
// Stats then returns the final counters at once. BeforeTick runs before
// every tick and once after the last, so the observer's events are all
// flushed when Serve returns. Method: two clients, one frame, Stop from
// the test goroutine, then read both streams to the end.
func TestServeStatsStop(t *testing.T) {
	rec := &recorder{}
	l := listen(t, rec, nil)
	served := make(chan error, 1)
	go func() { served <- l.Serve() }()
	a, b := dial(t, l), dial(t, l)
	waitStats(t, l, "2 members", func(st server.Stats) bool { return st.Members == 2 })
	if _, err := a.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	waitStats(t, l, "1 frame in", func(st server.Stats) bool { return st.FramesIn == 1 })
	l.Stop()
	l.Stop() // any number of times
	for name, c := range map[string]*net.TCPConn{"a": a, "b": b} {
		got, err := io.ReadAll(c)
		if err != nil || string(got) != "hello\n" {
			t.Errorf("%s read %q, %v; want the frame and the end of stream", name, got, err)
		}
		c.CloseWrite()
	}
	waitServed(t, served, "Serve, after Stop")
	start := time.Now()
	st := l.Stats(time.Hour)
	if time.Since(start) > time.Second {
		t.Errorf("Stats after Serve returned waited %v", time.Since(start))
	}
	if st.Closed[server.ReasonShutdown] != 2 || st.Conns != 0 || st.FramesOut != 2 {
		t.Errorf("final stats: closed %v, conns %d, frames out %d; want 2 shutdown closes, 0 conns, 2 deliveries",
			st.Closed, st.Conns, st.FramesOut)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.pending) != 0 {
		t.Errorf("events left unflushed when Serve returned: %q", rec.pending)
	}
	want := []string{"joined", "joined", "frame", "left shutdown", "left shutdown", "closed shutdown", "closed shutdown"}
	if got := slices.Clone(rec.flushed); !slices.Equal(sortedCopy(got), sortedCopy(want)) {
		t.Errorf("flushed events %q, want %q in some order", got, want)
	}
	// One call before each tick, one at the shutdown's start (no tick), one
	// after the last tick.
	if rec.calls != int(st.Ticks)+2 {
		t.Errorf("BeforeTick ran %d times for %d ticks, want ticks+2", rec.calls, st.Ticks)
	}
}

func sortedCopy(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

// Goal: Run turns the context's end into a graceful stop and logs why.
// Method: cancel with a cause while a client is connected.
func TestRunStopsAtContextEnd(t *testing.T) {
	logs := child.NewLines()
	l := listen(t, nil, slog.New(slog.NewTextHandler(logs, nil)))
	ctx, cancel := context.WithCancelCause(context.Background())
	served := make(chan error, 1)
	go func() { served <- l.Run(ctx) }()
	c := dial(t, l)
	waitStats(t, l, "1 member", func(st server.Stats) bool { return st.Members == 1 })
	cancel(errors.New("test says stop"))
	if got, err := io.ReadAll(c); err != nil || len(got) != 0 {
		t.Errorf("client read %q, %v; want the end of stream", got, err)
	}
	c.CloseWrite()
	waitServed(t, served, "Run, after the context ended")
	if logs.Count(regexp.MustCompile(`msg="stop requested" cause="test says stop"`)) != 1 {
		t.Errorf("log lacks the stop request and its cause:\n%s", logs.Tail(20))
	}
}

// Goal: a BeforeTick error ends Serve at once with that error, and the
// poller is closed (Stop and Stats still return). Method: a hook that
// fails from its first call.
func TestBeforeTickErrorEndsServe(t *testing.T) {
	rec := &recorder{failWith: errors.New("events pipe broken")}
	l := listen(t, rec, nil)
	err := l.Serve()
	if err == nil || !strings.Contains(err.Error(), "events pipe broken") {
		t.Fatalf("Serve: %v, want the hook's error", err)
	}
	l.Stop()
	_ = l.Stats(time.Hour)
}

// Goal: Stats before Serve does not hang: it returns the snapshot taken at
// Listen once the wait passes. Method: ask with a short wait, nobody
// serving.
func TestStatsBeforeServe(t *testing.T) {
	l := listen(t, nil, nil)
	defer func() { l.Stop(); l.Serve() }()
	start := time.Now()
	if st := l.Stats(20 * time.Millisecond); st.Accepted != 0 || time.Since(start) > 5*time.Second {
		t.Errorf("Stats before Serve: %+v after %v", st, time.Since(start))
	}
}
