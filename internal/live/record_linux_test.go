package live

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mobsim/mobsim/internal/recfile"
	"github.com/mobsim/mobsim/netrec"
	"github.com/mobsim/mobsim/server"
)

// Goal: a recorded loop's file replays the core exactly: the header holds
// the config in force, the shutdown is where the loop called it, the
// claims are notes the replayed core makes again, and the replay ends with
// the live core's counters. Method: two clients, one frame, Stop; then
// replay the file with notes matched and compare.
func TestRecordedLoopReplays(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loop.rec")
	cfg := server.DefaultConfig()
	l, err := Listen(Config{Addr: "127.0.0.1:0", Server: cfg,
		Record: &Record{Path: path, Writes: netrec.WriteCounts, DigestEvery: 1, Program: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l.Recording(); !ok {
		t.Fatal("Recording says the loop does not record")
	}
	served, a, b := serveOneFrame(t, l)
	l.Stop()
	for _, c := range []io.ReadWriteCloser{a, b} {
		if got, err := io.ReadAll(c); err != nil || string(got) != "hello\n" {
			t.Errorf("read %q, %v", got, err)
		}
	}
	a.CloseWrite()
	b.CloseWrite()
	waitServed(t, served, "Serve, after Stop")
	live := l.Stats(0)
	rst, _ := l.Recording()
	if rst.Err != nil || !rst.Stopped || rst.Records == 0 {
		t.Fatalf("recording stats %+v", rst)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("recording file: %v, %v; want mode 0600", fi, err)
	}

	rp, err := netrec.Open(path, netrec.ReplayOptions{MatchNotes: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	core, err := recfile.Decode(rp.Header().Config)
	if err != nil {
		t.Fatal(err)
	}
	want := cfg
	want.Logger = nil
	if core.Program != "test" || core.Server != want || core.Writes != "counts" || core.DigestEvery != 1 {
		t.Fatalf("recorded config %+v", core)
	}
	ln, err := rp.Listener()
	if err != nil {
		t.Fatal(err)
	}
	rcfg := core.Server
	rcfg.Observer = netrec.Observer[server.CloseReason]{N: rp, SkipFrames: !core.FrameNotes}
	srv, err := server.New(rp.Poller(), ln, rcfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Run(rp.Stop); err != nil {
		t.Fatal(err)
	}
	if sum, err := rp.Finish(); err != nil || sum.End != "end" {
		t.Fatalf("replay: %+v, %v", sum, err)
	}
	if got := srv.Stats(); got != live {
		t.Errorf("replay ends with %+v\nlive ended with %+v", got, live)
	}
}

// Goal: a recording says how the core ran, so a config with a field left
// to its default is refused, the file is not left behind, and an existing
// file is never overwritten. Method: Listen with FrameBytesMax 0, then
// with a path that exists.
func TestRecordRefusesIncompleteConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loop.rec")
	cfg := server.DefaultConfig()
	cfg.FrameBytesMax = 0
	_, err := Listen(Config{Addr: "127.0.0.1:0", Server: cfg, Record: &Record{Path: path}})
	if err == nil || !strings.Contains(err.Error(), "config in force") {
		t.Fatalf("Listen: %v, want the config refused", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused recording is still there: %v", err)
	}
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(Config{Addr: "127.0.0.1:0", Server: server.DefaultConfig(), Record: &Record{Path: path}}); err == nil {
		t.Fatal("Listen recorded over an existing file")
	}
	if b, _ := os.ReadFile(path); string(b) != "keep me" {
		t.Errorf("the existing file now holds %q", b)
	}
}
