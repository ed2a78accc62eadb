package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/mobsim/mobsim/internal/child"
	"github.com/mobsim/mobsim/internal/live"
	"github.com/mobsim/mobsim/internal/procfs"
)

// This file runs the mob binary as a child process and reads what the tests
// need from outside it: its log, its /debug/vars counters, and its memory,
// CPU time and descriptors from /proc.

// testTimeout bounds every wait and every socket deadline.
const testTimeout = 20 * time.Second

// mobBin is the mob binary TestMain builds.
var mobBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests builds cmd/mob into a temporary directory, runs the tests and
// removes the directory (os.Exit in TestMain would skip a defer).
func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	goTool, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: the go tool is needed to build cmd/mob:", err)
		return 1
	}
	mobBin = filepath.Join(dir, "mob")
	build := exec.Command(goTool, "build", "-o", mobBin, "github.com/mobsim/mobsim/cmd/mob")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build cmd/mob: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// mobProc is one running mob binary.
type mobProc struct {
	t testing.TB
	*child.Proc
	addr      string // where it listens
	debugAddr string // its /debug/vars, or "" when started without
}

// startMob runs the mob binary on 127.0.0.1:0 with debug logging, the debug
// server (unless noDebug), and args, and waits until it listens. Cleanup
// kills it if it still runs, and prints its log if the test failed.
func startMob(t testing.TB, noDebug bool, args ...string) *mobProc {
	t.Helper()
	all := []string{"-addr", "127.0.0.1:0", "-log-level", "debug", fmt.Sprintf("-io-uring=%v", !live.IOUringOffByEnv())}
	if !noDebug {
		all = append(all, "-debug-addr", "127.0.0.1:0")
	}
	all = append(all, args...)
	proc, err := child.Start(exec.Command(mobBin, all...))
	if err != nil {
		t.Fatal(err)
	}
	p := &mobProc{t: t, Proc: proc}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("mob %v log:\n%s", all, p.Log().Tail(400))
		}
	})
	path := p.waitLog(regexp.MustCompile(`msg="write batches" path=(\S+)`))[1]
	if live.IOUringOffByEnv() && path != "writev" {
		t.Fatalf("%s=off, but mob sends its batches by %s", live.IOUringEnv, path)
	}
	p.addr = p.waitLog(regexp.MustCompile(`msg=listening addr=(\S+)`))[1]
	if !noDebug {
		p.debugAddr = p.waitLog(regexp.MustCompile(`msg="debug server" addr=(\S+)`))[1]
	}
	return p
}

// waitLog waits for a log line matching re and returns its submatches.
func (p *mobProc) waitLog(re *regexp.Regexp) []string {
	p.t.Helper()
	m, ok := p.Log().Wait(re, testTimeout)
	if !ok {
		p.t.Fatalf("no mob log line matching %v within %v", re, testTimeout)
	}
	return m
}

// sigterm signals the child and waits for it to exit, bounded. It returns
// how long the exit took and the exit error (nil for status 0).
func (p *mobProc) sigterm() (time.Duration, error) {
	p.t.Helper()
	start := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatalf("SIGTERM: %v", err)
	}
	err := p.Wait(testTimeout)
	return time.Since(start), err
}

// closedReason waits for the debug log line of a connection's close and
// returns its reason. peer is the client's local address, which the server
// logs as conn.peer=ADDR conn.fd=N.
func (p *mobProc) closedReason(peer string) string {
	p.t.Helper()
	re := regexp.MustCompile(`msg=closed conn\.peer=` + regexp.QuoteMeta(peer) + ` conn\.fd=\d+ reason=(\S+)`)
	return p.waitLog(re)[1]
}

// mobVars is the part of /debug/vars the tests read: the server's counters
// under "mob".
type mobVars struct {
	Accepted      uint64            `json:"accepted"`
	Closed        map[string]uint64 `json:"closed"`
	ClosedTotal   uint64            `json:"closed_total"`
	FramesIn      uint64            `json:"frames_in"`
	FramesOut     uint64            `json:"frames_out"`
	BytesIn       uint64            `json:"bytes_in"`
	AcceptErrors  uint64            `json:"accept_errors"`
	AcceptPauses  uint64            `json:"accept_pauses"`
	Conns         int               `json:"conns"`
	Members       int               `json:"members"`
	QueuedBytes   uint64            `json:"queued_bytes"`
	QueuedBytesHi uint64            `json:"queued_bytes_hi"`
	InputBytes    uint64            `json:"input_bytes"`
	InputBytesHi  uint64            `json:"input_bytes_hi"`
	Throttles     uint64            `json:"throttles"`
}

// vars fetches the server's counters.
func (p *mobProc) vars() mobVars {
	p.t.Helper()
	client := http.Client{Timeout: testTimeout}
	resp, err := client.Get("http://" + p.debugAddr + "/debug/vars")
	if err != nil {
		p.t.Fatalf("/debug/vars: %v", err)
	}
	defer resp.Body.Close()
	var v struct {
		Mob mobVars `json:"mob"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		p.t.Fatalf("/debug/vars: decode: %v", err)
	}
	return v.Mob
}

// waitVars polls the counters until cond holds, bounded, and returns them.
func (p *mobProc) waitVars(what string, cond func(mobVars) bool) mobVars {
	p.t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		v := p.vars()
		if cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting for %s; counters: %+v", what, v)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitStill waits until counter has not moved for 500 ms, and returns the
// counters then. It ends a phase whose end the server cannot announce (an
// attack read to its end, a flood's backlog drained): a loaded machine
// makes it come later, and only a pause of 500 ms in the middle could end
// it early.
func (p *mobProc) waitStill(counter func(mobVars) uint64) mobVars {
	p.t.Helper()
	v := p.vars()
	for last, since, deadline := counter(v), time.Now(), time.Now().Add(testTimeout); time.Since(since) < 500*time.Millisecond; {
		if time.Now().After(deadline) {
			p.t.Fatalf("the counter still moved after %v", testTimeout)
		}
		time.Sleep(20 * time.Millisecond)
		if v = p.vars(); counter(v) != last {
			last, since = counter(v), time.Now()
		}
	}
	return v
}

// waitMembers waits until the server counts n members.
func (p *mobProc) waitMembers(n int) {
	p.t.Helper()
	p.waitVars(fmt.Sprint(n, " members"), func(v mobVars) bool { return v.Members == n })
}

// memory reads VmRSS and VmHWM (peak RSS) of the child, in bytes.
func (p *mobProc) memory() (rss, hwm int64) {
	p.t.Helper()
	rss, hwm, err := procfs.Memory(p.Pid())
	if err != nil {
		p.t.Fatalf("memory: %v", err)
	}
	return rss, hwm
}

// cpuTime reads the child's user plus system CPU time.
func (p *mobProc) cpuTime() time.Duration {
	p.t.Helper()
	cpu, err := procfs.CPU(p.Pid())
	if err != nil {
		p.t.Fatalf("cpu time: %v", err)
	}
	return cpu
}

// fds lists the child's open descriptor numbers, sorted.
func (p *mobProc) fds() []int {
	p.t.Helper()
	fds, err := procfs.FDs(p.Pid())
	if err != nil {
		p.t.Fatalf("descriptors: %v", err)
	}
	return fds
}
