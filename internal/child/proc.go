package child

import (
	"fmt"
	"os"
	"os/exec"
	"time"
)

// Proc is one running child.
type Proc struct {
	cmd    *exec.Cmd
	log    *Lines
	exited chan struct{} // closed once Wait returned
	err    error         // Wait's result, valid after exited
}

// Start starts cmd. If cmd.Stderr is nil, the child's standard error is
// kept line by line in Log; otherwise it goes where cmd.Stderr says and
// Log is empty. The caller sets up the rest of cmd (arguments,
// environment, pipes, extra files) before.
func Start(cmd *exec.Cmd) (*Proc, error) {
	p := &Proc{cmd: cmd, log: NewLines(), exited: make(chan struct{})}
	setDeathSignal(cmd)
	if cmd.Stderr != nil {
		p.log.end()
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
		}
		go p.wait()
		return p, nil
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	go func() {
		p.log.consume(stderr)
		p.wait() // only once stderr is read to its end
	}()
	return p, nil
}

func (p *Proc) wait() {
	p.err = p.cmd.Wait()
	close(p.exited)
}

// Pid is the child's process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Log is the child's standard error, when Start kept it.
func (p *Proc) Log() *Lines { return p.log }

// Exited is closed once the child has exited and been waited for.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Err is the child's exit error (nil for status 0), valid once Exited is
// closed.
func (p *Proc) Err() error { return p.err }

// Signal sends sig to the child.
func (p *Proc) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits up to timeout for the child to exit and returns its exit
// error. A child still running at the timeout is killed, and Wait says so.
func (p *Proc) Wait(timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.exited:
		return p.err
	case <-t.C:
		p.Kill()
		return fmt.Errorf("%s still running %v later: killed", p.cmd.Path, timeout)
	}
}

// Kill kills the child if it still runs, and waits for it to be reaped.
func (p *Proc) Kill() {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}
