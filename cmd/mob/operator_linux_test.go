//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mobsim/mobsim/internal/live"
	"github.com/mobsim/mobsim/server"
)

// debugAddrOf takes the debug server's address from the log.
func debugAddrOf(t *testing.T, s *testServer) string {
	t.Helper()
	m, ok := s.logs.Wait(regexp.MustCompile(`msg="debug server" addr=(\S+)`), testTimeout)
	if !ok {
		t.Fatalf("no debug server address in the log:\n%s", s.logs.Tail(100))
	}
	return m[1]
}

// allLogs is every line the server logged so far.
func allLogs(s *testServer) string { return s.logs.Tail(math.MaxInt) }

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := (&http.Client{Timeout: testTimeout}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// Goal: /metrics serves the live counters in the Prometheus text format
// (as Prometheus's own parser reads it) and /healthz answers while the
// loop serves. Method: relay one frame between two clients, scrape both
// pages, compare the scrape with the loop's own stats.
func TestMetricsAndHealthzLive(t *testing.T) {
	s, debugAddr, conns := startRelayed(t)
	conns[1].Close()
	st := s.waitStats("one close", func(st server.Stats) bool { return st.ClosedTotal() == 1 && st.FramesIn == 1 })

	resp, body := get(t, "http://"+debugAddr+"/metrics")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != metricsContentType {
		t.Fatalf("/metrics: %s, Content-Type %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	fams := parseMetrics(t, body)
	for _, name := range []string{"mob_connections_accepted_total", "mob_frames_read_total", "mob_members", "mob_connections"} {
		if f := fams[name]; f == nil || len(f.values) != 1 {
			t.Fatalf("%s missing:\n%s", name, body)
		}
	}
	if fams["mob_frames_read_total"].values[0] != 1 || fams["mob_connections_accepted_total"].values[0] != 2 || fams["mob_members"].values[0] != 1 {
		t.Errorf("scrape disagrees with the loop (%+v):\n%s", st, body)
	}
	var closed float64
	for i, l := range fams["mob_connections_closed_total"].labels {
		if l["reason"] == "eof" || l["reason"] == "reset" {
			closed += fams["mob_connections_closed_total"].values[i]
		}
	}
	if closed != 1 {
		t.Errorf("closed for eof or reset: %v, want 1\n%s", closed, body)
	}
	for _, name := range []string{"process_open_fds", "process_max_fds", "process_resident_memory_bytes", "mob_build_info"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}

	resp, body = get(t, "http://"+debugAddr+"/healthz")
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		t.Errorf("/healthz: %s %q", resp.Status, body)
	}
}

// Goal: a busy -debug-addr stops the start before the server listens, and
// the message names the flag. Method: hold the address, start on it, read
// the log.
func TestDebugAddrBoundBeforeListening(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	var out bytes.Buffer // run has returned when it is read
	code := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-debug-addr", busy.Addr().String()}, &out, nil)
	log := out.String()
	if code != exitError || !strings.Contains(log, "-debug-addr "+busy.Addr().String()) || !strings.Contains(log, "address already in use") {
		t.Errorf("exit %d, want %d naming -debug-addr:\n%s", code, exitError, log)
	}
	if strings.Contains(log, "msg=listening") {
		t.Errorf("the server listened before the debug address failed:\n%s", log)
	}
}

// Goal: -log-format json makes every line a JSON object, and a connection
// logs its peer address and descriptor under keys of their own. Method:
// run with JSON debug logs, connect a client, decode every line.
func TestJSONLogsLive(t *testing.T) {
	s := startServer(t, "-log-format", "json", "-log-level", "debug")
	c := s.dialMembers(1)[0]
	local := c.LocalAddr().String()
	c.Close()
	s.waitStats("the close", func(st server.Stats) bool { return st.ClosedTotal() == 1 })
	s.stop()

	var sawListening, sawConn bool
	sc := bufio.NewScanner(strings.NewReader(allLogs(s)))
	for sc.Scan() {
		var rec struct {
			Msg  string
			Addr string
			Conn *struct {
				Peer string
				FD   *int
			}
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("not JSON: %q: %v", sc.Text(), err)
		}
		sawListening = sawListening || (rec.Msg == "listening" && rec.Addr == s.l.Addr().String())
		if rec.Conn != nil && rec.Conn.Peer == local && rec.Conn.FD != nil && *rec.Conn.FD > 2 {
			sawConn = true
		}
	}
	if !sawListening || !sawConn {
		t.Errorf("listening record %v, a record with conn.peer %s and conn.fd %v:\n%s", sawListening, local, sawConn, allLogs(s))
	}
}

// Goal: a -conns-max the descriptor limit cannot hold is warned about at
// start. Method: run with -conns-max at the limit (the process's own
// descriptors take the rest).
func TestFDLimitWarnedLive(t *testing.T) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if rl.Cur >= 1<<24 {
		t.Skipf("RLIMIT_NOFILE %d is above the largest -conns-max", rl.Cur)
	}
	s := startServer(t, "-conns-max", strconv.FormatUint(rl.Cur, 10))
	if !strings.Contains(allLogs(s), "level=WARN msg=\"-conns-max exceeds") {
		t.Errorf("no warning at -conns-max %d, RLIMIT_NOFILE %d:\n%s", rl.Cur, rl.Cur, allLogs(s))
	}
}

// Goal: /healthz fails when the loop does not answer and as soon as a
// shutdown starts, so a load balancer stops sending clients while the
// shutdown still flushes. Method: a loop nobody serves yet, then the same
// loop after Stop, before and after Serve returns.
func TestHealthWithoutAServingLoop(t *testing.T) {
	l, err := live.Listen(live.Config{Addr: "127.0.0.1:0", Server: server.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	if code, msg := health(l, 20*time.Millisecond); code != http.StatusServiceUnavailable || msg != "event loop not answering within 20ms" {
		t.Errorf("health of a loop not served: %d %q", code, msg)
	}
	l.Stop()
	if code, msg := health(l, testTimeout); code != http.StatusServiceUnavailable || msg != "shutting down" {
		t.Errorf("health after Stop: %d %q", code, msg)
	}
	if err := l.Serve(); err != nil {
		t.Fatal(err)
	}
	if code, msg := health(l, testTimeout); code != http.StatusServiceUnavailable || msg != "shutting down" {
		t.Errorf("health after Serve returned: %d %q", code, msg)
	}
}
