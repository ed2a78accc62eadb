package load

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/mobsim/mobsim/bench/peer"
	"github.com/mobsim/mobsim/server"
)

// Proc is a server running as a child process (cmd/peer), driven over its
// standard input and output.
type Proc struct {
	Impl    string
	Framing server.Framing
	Addr    string
	Pid     int

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Reader
	stderr bytes.Buffer
}

// StartProc starts bin (a cmd/peer binary) with extra flags and waits until
// it listens.
func StartProc(bin, impl string, f server.Framing, extra ...string) (*Proc, error) {
	args := append([]string{"-impl", impl, "-framing", f.String(), "-addr", "127.0.0.1:0"}, extra...)
	cmd := exec.Command(bin, args...)
	p := &Proc{Impl: impl, Framing: f, cmd: cmd}
	cmd.Stderr = &p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p.stdin, p.out, p.Pid = stdin, bufio.NewReader(stdout), cmd.Process.Pid
	line, err := p.line()
	addr, ok := strings.CutPrefix(line, "listening ")
	if err != nil || !ok {
		p.kill()
		_ = cmd.Wait() // after which stderr is complete and ours to read
		return nil, fmt.Errorf("%s: first line %q (%v); stderr: %s", impl, line, err, p.stderr.String())
	}
	p.Addr = addr
	return p, nil
}

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
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("VmRSS line %q", line)
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// clockTicks is USER_HZ, fixed at 100 in the Linux ABI for /proc times.
const clockTicks = 100

// CPU reads the child's user+system CPU time from /proc/PID/stat.
func (p *Proc) CPU() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after ")" are fixed.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short stat %q", b)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// Close asks the child to quit and waits; a child that does not exit within
// 15 seconds is killed.
func (p *Proc) Close() error {
	p.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s: %w; stderr: %s", p.Impl, err, p.stderr.String())
		}
		return nil
	case <-time.After(15 * time.Second):
		p.kill()
		<-done
		return fmt.Errorf("%s: did not exit; killed", p.Impl)
	}
}

func (p *Proc) kill() {
	_ = p.cmd.Process.Kill()
}
