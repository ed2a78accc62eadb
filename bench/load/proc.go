package load

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/mobsim/mobsim/bench/peer"
	"github.com/mobsim/mobsim/internal/child"
	"github.com/mobsim/mobsim/internal/procfs"
	"github.com/mobsim/mobsim/server"
)

// Proc is a server running as a child process (cmd/peer), driven over its
// standard input and output.
type Proc struct {
	Impl    string
	Framing server.Framing
	Addr    string
	Pid     int

	proc  *child.Proc
	stdin io.WriteCloser
	out   *bufio.Reader
}

// closeWait bounds how long Close waits for the child to exit.
const closeWait = 15 * time.Second

// StartProc starts bin (a cmd/peer binary) with extra flags and waits until
// it listens.
func StartProc(bin, impl string, f server.Framing, extra ...string) (*Proc, error) {
	args := append([]string{"-impl", impl, "-framing", f.String(), "-addr", "127.0.0.1:0"}, extra...)
	cmd := exec.Command(bin, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	proc, err := child.Start(cmd) // keeps stderr, for the reports of a failure
	if err != nil {
		return nil, err
	}
	p := &Proc{Impl: impl, Framing: f, proc: proc, stdin: stdin, out: bufio.NewReader(stdout), Pid: proc.Pid()}
	line, err := p.line()
	addr, ok := strings.CutPrefix(line, "listening ")
	if err != nil || !ok {
		proc.Kill() // after which stderr is complete
		return nil, fmt.Errorf("%s: first line %q (%v); stderr: %s", impl, line, err, p.stderr())
	}
	p.Addr = addr
	return p, nil
}

// stderr is the end of the child's standard error.
func (p *Proc) stderr() string { return p.proc.Log().Tail(50) }

func (p *Proc) line() (string, error) {
	s, err := p.out.ReadString('\n')
	return strings.TrimSuffix(s, "\n"), err
}

func (p *Proc) command(cmd string) (string, error) {
	if _, err := io.WriteString(p.stdin, cmd+"\n"); err != nil {
		return "", fmt.Errorf("%s: %s: %w", p.Impl, cmd, err)
	}
	line, err := p.line()
	if err != nil {
		return "", fmt.Errorf("%s: %s: %w", p.Impl, cmd, err)
	}
	if msg, bad := strings.CutPrefix(line, "error "); bad {
		return "", fmt.Errorf("%s: %s: %s", p.Impl, cmd, msg)
	}
	return line, nil
}

// Stats asks the child for its counters.
func (p *Proc) Stats() (peer.ProcStats, error) {
	var st peer.ProcStats
	line, err := p.command("stats")
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal([]byte(line), &st); err != nil {
		return st, fmt.Errorf("%s: stats %q: %w", p.Impl, line, err)
	}
	return st, nil
}

// GC makes the child collect garbage and return free memory to the system.
func (p *Proc) GC() error {
	_, err := p.command("gc")
	return err
}

// StartProfile and StopProfile bracket a CPU profile written by the child.
func (p *Proc) StartProfile(path string) error {
	_, err := p.command("profile start " + path)
	return err
}

func (p *Proc) StopProfile() error {
	_, err := p.command("profile stop")
	return err
}

// WriteHeap makes the child write its allocation profile to path.
func (p *Proc) WriteHeap(path string) error {
	_, err := p.command("heap " + path)
	return err
}

// RSS reads the child's resident set size (VmRSS) from /proc.
func (p *Proc) RSS() (int64, error) {
	rss, _, err := procfs.Memory(p.Pid)
	return rss, err
}

// CPU reads the child's user+system CPU time from /proc.
func (p *Proc) CPU() (time.Duration, error) { return procfs.CPU(p.Pid) }

// Close asks the child to quit (the end of its input) and waits; a child
// that does not exit within closeWait is killed.
func (p *Proc) Close() error {
	p.stdin.Close()
	if err := p.proc.Wait(closeWait); err != nil {
		return fmt.Errorf("%s: %w; stderr: %s", p.Impl, err, p.stderr())
	}
	return nil
}
