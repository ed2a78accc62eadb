package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/mobsim/mobsim/server"
	"github.com/mobsim/mobsim/sim"
)

// Goal: mob -record writes a recording that mobsim -replay replays clean:
// mode 0600, the final log line says where it is and how to replay it,
// and the replay ends with the live counters. Method: two members, one
// frame each, a stop as SIGTERM gives; then sim.Replay on the file.
func TestRecordFlag(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mob.rec")
	s := startServer(t, "-record", path, "-record-bytes-max", "64MiB")
	conns := s.dialMembers(2)
	for _, c := range conns {
		if _, err := c.Write([]byte("hi\n")); err != nil {
			t.Fatal(err)
		}
	}
	s.waitStats("4 deliveries", func(st server.Stats) bool { return st.FramesOut == 4 })
	s.cancel() // as SIGTERM: the shutdown flushes, then waits for each FIN
	for _, c := range conns {
		if b, err := io.ReadAll(c); err != nil || string(b) != "hi\nhi\n" {
			t.Errorf("read %q, %v", b, err)
		}
		c.CloseWrite()
	}
	if code := s.stop(); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("recording: %v, %v; want a 0600 file", fi, err)
	}
	if s.logs.Count(regexp.MustCompile(`msg="recording closed" file=\S+ records=\d+ bytes=\d+ replay="mobsim -replay `)) != 1 {
		t.Errorf("no final recording line in the log:\n%s", s.logs.Tail(10))
	}
	rep := sim.Replay(path, sim.ReplayOptions{})
	if !rep.OK() || rep.End != "end" || rep.Stats.FramesOut != 4 || rep.Core.Program != "mob" || rep.Core.Writes != "counts" {
		t.Fatalf("replay: %+v", rep)
	}
}
