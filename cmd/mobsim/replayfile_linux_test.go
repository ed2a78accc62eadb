package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mobsim/mobsim/internal/recfile"
	"github.com/mobsim/mobsim/internal/tracecheck"
	"github.com/mobsim/mobsim/internal/wire"
	"github.com/mobsim/mobsim/netpoll"
	"github.com/mobsim/mobsim/netrec"
	"github.com/mobsim/mobsim/server"
)

// recordChat records the core on real sockets while one client sends a
// line and reads it back, with the header saying the core ran with
// recorded (which may differ from ran, to make a recording this core does
// not match), and returns the recording's path.
func recordChat(t *testing.T, ran, recorded server.Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "chat.rec")
	poller, err := netpoll.New()
	if err != nil {
		t.Fatal(err)
	}
	defer poller.Close()
	ln, err := netpoll.Listen("tcp", "127.0.0.1:0", netpoll.ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	blob, err := recfile.Encode(recfile.Core{Program: "test", Server: recorded})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := netrec.Create(path, poller, netrec.Options{Config: blob, Writes: netrec.WriteCounts, Batches: true})
	if err != nil {
		t.Fatal(err)
	}
	ran.Observer = netrec.Observer[server.CloseReason]{N: rec, SkipFrames: true}
	srv, err := server.New(rec.Poller(), rec.Listener(ln), ran)
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	done := make(chan error, 1)
	go func() { done <- srv.Run(rec.Stop(stop.Load)) }()
	c, err := wire.Dial(ln.Addr().String(), wire.DialOptions{Timeout: 5 * time.Second, Deadline: time.Now().Add(15 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("hello\n"))
	got := make([]byte, 6)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	c.CloseWrite()
	io.Copy(io.Discard, c)
	c.Close()
	stop.Store(true)
	poller.Wake()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// Goal: -replay's exit status tells apart a clean replay (0), a core that
// diverges from the recording (3, with the step, both calls and both
// builds), and a recording that cannot be replayed (4); -json carries the
// same, and two replays hash alike. Method: replay a recording of this
// core, one whose header claims another read buffer, a truncated copy and
// garbage.
func TestReplayExitStatus(t *testing.T) {
	cfg := server.DefaultConfig()
	good := recordChat(t, cfg, cfg)

	var hashes [2]string
	for i := range hashes {
		var out, errb bytes.Buffer
		if code := run([]string{"-replay", good, "-json"}, &out, &errb); code != 0 {
			t.Fatalf("clean recording: exit %d\n%s", code, errb.String())
		}
		var res replayResult
		if err := json.Unmarshal(out.Bytes(), &res); err != nil || !res.OK || res.Verdict != "ok" || res.End != "end" || res.Frames != 1 {
			t.Fatalf("clean recording: %v %+v", err, res)
		}
		hashes[i] = res.TraceHash
		if !strings.Contains(errb.String(), "replay "+good+": ok") {
			t.Errorf("clean recording: stderr\n%s", errb.String())
		}
	}
	if hashes[0] != hashes[1] {
		t.Errorf("two replays hash %s and %s", hashes[0], hashes[1])
	}

	other := cfg
	other.ReadBufferBytes = 1000
	diverging := recordChat(t, cfg, other)
	var out, errb bytes.Buffer
	code := run([]string{"-replay", diverging, "-json"}, &out, &errb)
	var res replayResult
	json.Unmarshal(out.Bytes(), &res)
	if code != exitDiverged || res.Divergence == nil || res.Divergence.Detail != "buffer of 1000 bytes, recorded 65536" ||
		!strings.HasPrefix(res.Divergence.Called, "read #2 len=1000") || !strings.HasPrefix(res.Divergence.Recorded, "read #2 len=65536") ||
		!strings.Contains(errb.String(), "DIVERGED") || !strings.Contains(errb.String(), "recorded by ") {
		t.Errorf("diverging recording: exit %d, %+v\n%s", code, res.Divergence, errb.String())
	}

	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.rec")
	garbage := filepath.Join(t.TempDir(), "garbage.rec")
	os.WriteFile(cut, data[:20], 0o600)
	os.WriteFile(garbage, []byte("not a recording at all"), 0o600)
	for _, p := range []string{cut, garbage, filepath.Join(t.TempDir(), "missing.rec")} {
		errb.Reset()
		if code := run([]string{"-replay", p}, io.Discard, &errb); code != exitUnreplayable || !strings.Contains(errb.String(), "CANNOT REPLAY") {
			t.Errorf("%s: exit %d, want %d\n%s", p, code, exitUnreplayable, errb.String())
		}
	}
	for _, args := range [][]string{{"-replay", good, "-seed", "1"}, {"-replay", good, "-seeds", "3"}, {"-replay", good, "-bug", "lifo-queue"}} {
		if code := run(args, io.Discard, io.Discard); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

// Goal: a replay's -trace-out is a trace worth opening, by the same rules
// as a seed's (named tracks, a slice per tick, the frame's flow from its
// read to its delivery), and -trace prints the text trace with its header.
// Method: replay a recording of one chat and check the file against the
// trace-event format's rules.
func TestReplayTraceOut(t *testing.T) {
	cfg := server.DefaultConfig()
	rec := recordChat(t, cfg, cfg)
	path := filepath.Join(t.TempDir(), "replay.json")
	var out, errb bytes.Buffer
	if code := run([]string{"-replay", rec, "-trace", "-trace-out", path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := tracecheck.Validate(data)
	if err != nil {
		t.Fatalf("replay trace breaks the format: %v", err)
	}
	var conns, ticks int
	for k, name := range tr.Threads {
		if strings.HasPrefix(name, "conn ") {
			conns++
		}
		if name == "server" {
			for _, s := range tr.Slices[k] {
				if s.Name == "tick" {
					ticks++
				}
			}
		}
	}
	if conns != 1 || ticks < 2 || tr.Flows != 1 || len(tr.Violations) != 0 {
		t.Errorf("conn tracks %d (want 1), ticks %d, flows %d (want 1: hello's read to its delivery), violations %d", conns, ticks, tr.Flows, len(tr.Violations))
	}
	text := out.String()
	if !strings.HasPrefix(text, "  step ") || !strings.Contains(text, " joined ") || !strings.Contains(text, " frame ") {
		t.Errorf("text trace lacks its header or the claims:\n%s", text)
	}
}
