//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Goal: the built binary does what a user sees: it logs the address it
// bound (port 0), relays lines between two plain TCP clients as two nc
// sessions would, serves its counters at /debug/vars, and on SIGTERM shuts
// down gracefully with exit status 0. Method: go build, start the binary,
// read its log from stderr, chat, signal, wait (all bounded).
func TestBinaryChatAndSIGTERM(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH to build the binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "mob")
	if out, err := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	cmd := exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:0", "-debug-addr", "127.0.0.1:0", "-log-level", "debug")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	lines := make(chan string, 100)
	var logs strings.Builder
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	defer func() {
		if t.Failed() {
			t.Logf("binary logs:\n%s", logs.String())
		}
	}()
	// nextLine returns the next log line matching re, bounded.
	nextLine := func(re *regexp.Regexp) []string {
		t.Helper()
		timeout := time.After(testTimeout)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("log ended before a line matching %v", re)
				}
				logs.WriteString(l + "\n")
				if m := re.FindStringSubmatch(l); m != nil {
					return m
				}
			case <-timeout:
				t.Fatalf("no log line matching %v within %v", re, testTimeout)
			}
		}
	}
	addr := nextLine(regexp.MustCompile(`msg=listening addr=(\S+)`))[1]
	debugAddr := nextLine(regexp.MustCompile(`msg="debug server" addr=(\S+)`))[1]
	t.Logf("binary listens on %s, debug server on %s", addr, debugAddr)

	a, b := dial(t, addr, 0), dial(t, addr, 0)
	waitVars(t, debugAddr, "2 members", func(v mobVars) bool { return v.Members == 2 })
	ra, rb := bufio.NewReader(a), bufio.NewReader(b)
	readLine := func(name string, r *bufio.Reader) string {
		t.Helper()
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: read: %v (got %q)", name, err, l)
		}
		return l
	}
	var seqA, seqB []string
	fmt.Fprint(a, "hello from a\n")
	seqA, seqB = append(seqA, readLine("a", ra)), append(seqB, readLine("b", rb))
	fmt.Fprint(b, "hi from b\n")
	seqA, seqB = append(seqA, readLine("a", ra)), append(seqB, readLine("b", rb))
	want := []string{"hello from a\n", "hi from b\n"}
	if fmt.Sprint(seqA) != fmt.Sprint(want) || fmt.Sprint(seqB) != fmt.Sprint(want) {
		t.Errorf("a read %q, b read %q; want both %q", seqA, seqB, want)
	}
	v := waitVars(t, debugAddr, "2 frames in", func(v mobVars) bool { return v.FramesIn == 2 })
	t.Logf("/debug/vars mob: %+v", v)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	// The server flushes, sends FIN and waits for ours: read to the end,
	// then close.
	for name, r := range map[string]*bufio.Reader{"a": ra, "b": rb} {
		if rest, err := io.ReadAll(r); err != nil || len(rest) > 0 {
			t.Errorf("%s: after SIGTERM read %q, %v; want the end of stream", name, rest, err)
		}
	}
	a.Close()
	b.Close()
	stopped := nextLine(regexp.MustCompile(`msg=stopped (.*)`))[1]
	t.Logf("binary's final counters: %s", stopped)
	// Wait may be called only once stderr is read to its end, which comes
	// when the process exits.
	timeout := time.After(testTimeout)
	for open := true; open; {
		select {
		case l, ok := <-lines:
			logs.WriteString(l + "\n")
			open = ok
		case <-timeout:
			t.Fatalf("binary still running %v after SIGTERM", testTimeout)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v, want status 0", err)
	}
	for _, want := range []string{"frames_in=2", "frames_out=4", "closed.shutdown=2"} {
		if !strings.Contains(stopped, want) {
			t.Errorf("final counters %q lack %s", stopped, want)
		}
	}
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

// debugVars is the part of /debug/vars the tests read.
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
