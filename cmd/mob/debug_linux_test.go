//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mobsim/mobsim/internal/live"
	"github.com/mobsim/mobsim/server"
)

// Goal: -debug-addr serves the server's live counters (with every close
// reason by name) at /debug/vars next to the standard expvars, and pprof.
// Method: run in-process with -debug-addr 127.0.0.1:0, take the address
// from the log, relay one frame between two clients, and read the pages.
func TestDebugServer(t *testing.T) {
	s, debugAddr, conns := startRelayed(t)

	v := waitVars(t, debugAddr, "1 frame in", func(v mobVars) bool { return v.FramesIn == 1 })
	t.Logf("/debug/vars mob: %+v", v)
	if v.Members != 2 || v.Accepted != 2 || v.FramesOut != 2 || v.BytesOut != 10 {
		t.Errorf("members %d, accepted %d, frames out %d, bytes out %d; want 2, 2, 2, 10",
			v.Members, v.Accepted, v.FramesOut, v.BytesOut)
	}
	for _, r := range server.Reasons() {
		if _, ok := v.Closed[r.String()]; !ok {
			t.Errorf("close reason %q missing from /debug/vars", r)
		}
	}
	vars, err := getVars(&http.Client{Timeout: testTimeout}, debugAddr)
	if err != nil {
		t.Fatal(err)
	}
	if len(vars.Cmdline) == 0 || len(vars.Memstats) == 0 {
		t.Errorf("/debug/vars lacks the standard cmdline and memstats")
	}

	for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/goroutine?debug=1"} {
		resp, err := http.Get("http://" + debugAddr + path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("%s: status %s, %d bytes", path, resp.Status, len(body))
		}
	}

	for _, c := range conns {
		c.CloseWrite()
	}
	s.waitStats("every client to be closed", func(st server.Stats) bool { return st.Conns == 0 })
	if code := s.stop(); code != exitOK {
		t.Errorf("run returned %d", code)
	}
	if _, err := net.Dial("tcp", debugAddr); err == nil {
		t.Errorf("the debug server still accepts connections after run returned")
	}
}

// Goal: setup failures exit 1 with a clear message. Method: run with -addr,
// then -debug-addr, on an address a listener already holds.
func TestSetupErrorsExit1(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, args := range [][]string{
		{"-addr", busy.Addr().String()},
		{"-addr", "127.0.0.1:0", "-debug-addr", busy.Addr().String()},
	} {
		var out bytes.Buffer
		code := run(context.Background(), args, &out, func(*live.Loop) { t.Errorf("%q: ready called", args) })
		if code != exitError {
			t.Errorf("%q: exit %d, want %d", args, code, exitError)
		}
		if log := out.String(); !strings.Contains(log, `msg="cannot start"`) || !strings.Contains(log, "address already in use") {
			t.Errorf("%q: log lacks the cause:\n%s", args, log)
		}
	}
}

// startRelayed starts the server with a debug server, connects two
// clients and relays one frame ("ping\n") from the first to both; it
// returns the server, the debug server's address and the clients.
func startRelayed(t *testing.T) (*testServer, string, []*net.TCPConn) {
	t.Helper()
	s := startServer(t, "-debug-addr", "127.0.0.1:0")
	debugAddr := debugAddrOf(t, s)
	conns := s.dialMembers(2)
	if _, err := conns[0].Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	for i, c := range conns {
		buf := make([]byte, 5)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping\n" {
			t.Fatalf("client %d read %q, %v", i, buf, err)
		}
	}
	return s, debugAddr, conns
}

// waitVars polls /debug/vars until cond holds for the "mob" counters,
// bounded, and returns them.
func waitVars(t *testing.T, debugAddr, what string, cond func(mobVars) bool) mobVars {
	t.Helper()
	client := http.Client{Timeout: testTimeout}
	deadline := time.Now().Add(testTimeout)
	for {
		v, err := getVars(&client, debugAddr)
		if err != nil {
			t.Fatalf("/debug/vars: %v", err)
		}
		if cond(v.Mob) {
			return v.Mob
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last: %+v", what, v.Mob)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// debugVars is the part of /debug/vars the tests read; decoding it with
// unknown fields disallowed checks that "mob" has exactly mobVars' shape.
type debugVars struct {
	Cmdline  []string        `json:"cmdline"`
	Memstats json.RawMessage `json:"memstats"`
	Mob      mobVars         `json:"mob"`
}

func getVars(client *http.Client, debugAddr string) (debugVars, error) {
	var v debugVars
	resp, err := client.Get("http://" + debugAddr + "/debug/vars")
	if err != nil {
		return v, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return v, fmt.Errorf("status %s", resp.Status)
	}
	dec := json.NewDecoder(resp.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, fmt.Errorf("decode: %w", err)
	}
	return v, nil
}
