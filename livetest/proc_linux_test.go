//go:build linux

package livetest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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
	dir, err := os.MkdirTemp("", "livetest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "livetest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	goTool, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintln(os.Stderr, "livetest: the go tool is needed to build cmd/mob:", err)
		return 1
	}
	mobBin = filepath.Join(dir, "mob")
	build := exec.Command(goTool, "build", "-o", mobBin, "github.com/mobsim/mobsim/cmd/mob")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "livetest: go build cmd/mob: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// mobProc is one running mob binary.
type mobProc struct {
	t         *testing.T
	cmd       *exec.Cmd
	addr      string // where it listens
	debugAddr string // its /debug/vars, or "" when started without
	log       *logLines
	exited    chan struct{} // closed once Wait returned
	exitErr   error         // Wait's result, valid after exited
}

// startMob runs the mob binary on 127.0.0.1:0 with debug logging, the debug
// server (unless noDebug), and args, and waits until it listens. Cleanup
// kills it if it still runs, and prints its log if the test failed.
func startMob(t *testing.T, noDebug bool, args ...string) *mobProc {
	t.Helper()
	all := []string{"-addr", "127.0.0.1:0", "-log-level", "debug"}
	if !noDebug {
		all = append(all, "-debug-addr", "127.0.0.1:0")
	}
	all = append(all, args...)
	p := &mobProc{t: t, cmd: exec.Command(mobBin, all...), log: newLogLines(), exited: make(chan struct{})}
	// If the test binary dies (a -timeout panic skips Cleanup), the child
	// goes with it instead of lingering.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start mob: %v", err)
	}
	go func() {
		p.log.consume(stderr)
		p.exitErr = p.cmd.Wait() // only once stderr is read to its end
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("mob %v log:\n%s", all, p.log.text())
		}
	})
	p.addr = p.waitLog(regexp.MustCompile(`msg=listening addr=(\S+)`))[1]
	if !noDebug {
		p.debugAddr = p.waitLog(regexp.MustCompile(`msg="debug server" addr=(\S+)`))[1]
	}
	return p
}

// pid is the child's process id.
func (p *mobProc) pid() int { return p.cmd.Process.Pid }

// waitLog waits for a log line matching re and returns its submatches.
func (p *mobProc) waitLog(re *regexp.Regexp) []string {
	p.t.Helper()
	m, ok := p.log.wait(re, testTimeout)
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
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.exited:
	case <-time.After(testTimeout):
		p.t.Fatalf("mob still running %v after SIGTERM", testTimeout)
	}
	return time.Since(start), p.exitErr
}

// closedLine waits for the debug log line of a connection's close and
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
	QueuedBytesHi uint64            `json:"queued_bytes_hi"`
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

// waitMembers waits until the server counts n members.
func (p *mobProc) waitMembers(n int) {
	p.t.Helper()
	p.waitVars(fmt.Sprint(n, " members"), func(v mobVars) bool { return v.Members == n })
}

// memory reads VmRSS and VmHWM (peak RSS) of the child, in bytes.
func (p *mobProc) memory() (rss, hwm int64) {
	p.t.Helper()
	rss, hwm, err := procfs.Memory(p.pid())
	if err != nil {
		p.t.Fatalf("memory: %v", err)
	}
	return rss, hwm
}

// cpuTime reads the child's user plus system CPU time.
func (p *mobProc) cpuTime() time.Duration {
	p.t.Helper()
	cpu, err := procfs.CPU(p.pid())
	if err != nil {
		p.t.Fatalf("cpu time: %v", err)
	}
	return cpu
}

// fds lists the child's open descriptor numbers, sorted.
func (p *mobProc) fds() []int {
	p.t.Helper()
	fds, err := procfs.FDs(p.pid())
	if err != nil {
		p.t.Fatalf("descriptors: %v", err)
	}
	return fds
}

// logLines keeps every line of the child's log and lets tests wait for one.
type logLines struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced on every new line
	ended   bool
}

func newLogLines() *logLines { return &logLines{changed: make(chan struct{})} }

// consume reads r line by line until it ends.
func (l *logLines) consume(r interface{ Read([]byte) (int, error) }) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l.mu.Lock()
		l.lines = append(l.lines, sc.Text())
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	}
	l.mu.Lock()
	l.ended = true
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// wait returns the submatches of the first line matching re, waiting up to
// timeout for it to appear.
func (l *logLines) wait(re *regexp.Regexp, timeout time.Duration) ([]string, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		l.mu.Lock()
		lines, ended, changed := l.lines, l.ended, l.changed
		l.mu.Unlock()
		for ; seen < len(lines); seen++ {
			if m := re.FindStringSubmatch(lines[seen]); m != nil {
				return m, true
			}
		}
		if ended {
			return nil, false
		}
		select {
		case <-changed:
		case <-deadline.C:
			return nil, false
		}
	}
}

// count returns how many lines match re so far.
func (l *logLines) count(re *regexp.Regexp) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if re.MatchString(line) {
			n++
		}
	}
	return n
}

// matches returns the submatches of every line matching re so far.
func (l *logLines) matches(re *regexp.Regexp) [][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out [][]string
	for _, line := range l.lines {
		if m := re.FindStringSubmatch(line); m != nil {
			out = append(out, m)
		}
	}
	return out
}

func (l *logLines) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	const keep = 400
	lines := l.lines
	prefix := ""
	if len(lines) > keep {
		prefix = fmt.Sprintf("(%d earlier lines omitted)\n", len(lines)-keep)
		lines = lines[len(lines)-keep:]
	}
	return prefix + strings.Join(lines, "\n")
}
