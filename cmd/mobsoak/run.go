package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/mobsim/mobsim/internal/procfs"
)

// child is the server process.
type child struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser // closing it tells the child the parent is gone
	addr    string
	evDone  chan struct{} // the event stream ended
	evErr   error
	exited  chan struct{}
	exitErr error
}

// startChild re-executes this program as the server configured as sc,
// with the events pipe as descriptor 3, and waits for the address it
// listens on. Its stderr (warnings and errors only) goes to stderr.
func startChild(sc serveConfig, or *oracle, stderr io.Writer) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	cfg, err := json.Marshal(sc)
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("events pipe: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), serveEnv+"="+string(cfg))
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("start server: %w", err)
	}
	w.Close() // the child holds the write end now: its exit ends the stream
	ch := &child{cmd: cmd, stdin: stdin, evDone: make(chan struct{}), exited: make(chan struct{})}
	go func() {
		ch.exitErr = cmd.Wait()
		close(ch.exited)
	}()
	br := bufio.NewReaderSize(r, 256<<10)
	ev, err := readEvent(br)
	if err != nil || ev.kind != evListening {
		ch.kill()
		r.Close()
		return nil, fmt.Errorf("server did not start (first event %q, %v)", ev.kind, err)
	}
	ch.addr = ev.addr
	go ch.readEvents(br, r, or)
	return ch, nil
}

// readEvents feeds the oracle in batches (as many records as are buffered)
// until the child closes the pipe.
func (ch *child) readEvents(br *bufio.Reader, r io.Closer, or *oracle) {
	defer close(ch.evDone)
	defer r.Close()
	batch := make([]event, 0, 4096)
	for {
		ev, err := readEvent(br)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				ch.evErr = err
			}
			return
		}
		batch = append(batch[:0], ev)
		for br.Buffered() > 0 && len(batch) < cap(batch) {
			ev, err := readEvent(br)
			if err != nil {
				or.apply(batch)
				if !errors.Is(err, io.EOF) {
					ch.evErr = err
				}
				return
			}
			batch = append(batch, ev)
		}
		or.apply(batch)
	}
}

func (ch *child) pid() int { return ch.cmd.Process.Pid }

// kill ends the child at once if it still runs.
func (ch *child) kill() {
	select {
	case <-ch.exited:
	default:
		ch.cmd.Process.Kill()
		<-ch.exited
	}
}

// stop sends SIGTERM and waits, bounded, for the events to end and the
// process to exit.
func (ch *child) stop(timeout time.Duration) error {
	if err := ch.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM: %w", err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	for _, c := range []chan struct{}{ch.evDone, ch.exited} {
		select {
		case <-c:
		case <-t.C:
			ch.kill()
			return fmt.Errorf("server still running %v after SIGTERM", timeout)
		}
	}
	ch.stdin.Close()
	if ch.evErr != nil {
		return fmt.Errorf("events: %w", ch.evErr)
	}
	if ch.exitErr != nil {
		return fmt.Errorf("server exit: %w", ch.exitErr)
	}
	return nil
}

// waitFor polls cond until it holds or timeout passes; it returns the
// last reason cond gave for not holding.
func waitFor(timeout time.Duration, cond func() (bool, string)) (bool, string) {
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return true, ""
		}
		if time.Now().After(deadline) {
			return false, why
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// soakRun runs the server and the clients, drains, stops the server and
// gathers the report.
func soakRun(o options, stderr io.Writer) (*report, error) {
	limit, err := raiseNOFILE()
	if err != nil {
		return nil, err
	}
	if need := uint64(2*o.clients + 100); limit < need {
		return nil, fmt.Errorf("RLIMIT_NOFILE is %d; %d clients need about %d (raise the hard limit)", limit, o.clients, need)
	}
	sc := childConfig(o)
	or := newOracle(o.payloadMax, sc.server())
	ch, err := startChild(sc, or, stderr)
	if err != nil {
		return nil, err
	}
	defer ch.kill()
	rep := &report{o: o, nofile: limit}
	rep.fdsBefore, rep.fdErr = procFDs(ch.pid())
	fdListBefore := procfs.FDList(ch.pid())

	start := time.Now()
	s := &soak{
		o: o, addr: ch.addr, oracle: or, finish: make(chan struct{}),
		deadline: start.Add(o.duration),
		hard:     start.Add(o.duration + 4*o.drainTimeout + 2*o.lingerTimeout),
	}
	for i := range o.clients {
		s.wg.Add(1)
		go s.slot(i)
	}
	if !s.showProgress(start, stderr, ch.exited) {
		// The server died: nothing to drain. Let the clients see it and
		// report what was checked up to then.
		rep.fail("the server exited during the run: %v", ch.exitErr)
		close(s.finish)
		s.waitSlots(o.drainTimeout)
		rep.elapsed = time.Since(start)
		or.finalizeAll()
		rep.collect(s, or)
		return rep, nil
	}

	// Drain. First the order must become final: every client the soak
	// made accepted, every other connection closed, every survivor's
	// frames read by the server.
	drainStart := time.Now()
	ok, why := waitFor(o.drainTimeout, func() (bool, string) {
		if n := s.slotsDone.Load() + s.parked.Load(); n != int64(o.clients) {
			return false, fmt.Sprintf("%d of %d slots still busy", int64(o.clients)-n, o.clients)
		}
		return or.settled(s.survivors)
	})
	if !ok {
		rep.fail("drain: the order did not settle within %v: %s", o.drainTimeout, why)
	}
	// Then every survivor must receive all of it.
	if ok, why := waitFor(o.drainTimeout, func() (bool, string) { return or.caughtUp(s.survivors) }); !ok {
		rep.fail("drain: survivors did not receive the whole order within %v: %s", o.drainTimeout, why)
	}
	// Then they leave with a FIN, and the server must close everything.
	close(s.finish)
	if !s.waitSlots(o.drainTimeout) {
		rep.fail("drain: clients still running %v after the survivors were told to leave", o.drainTimeout)
	}
	if ok, why := waitFor(o.drainTimeout, func() (bool, string) {
		n := or.openCount()
		return n == 0, fmt.Sprintf("%d server connections still open", n)
	}); !ok {
		rep.fail("drain: %s after %v", why, o.drainTimeout)
	}
	rep.drainTook = time.Since(drainStart)

	if rep.fdErr == nil {
		rep.fdsAfter, rep.fdErr = procFDs(ch.pid())
		if rep.fdErr == nil && rep.fdsAfter != rep.fdsBefore {
			rep.fdList = procfs.FDList(ch.pid())
		}
	}
	rep.rss, rep.hwm, rep.memErr = procfs.Memory(ch.pid())
	rep.cpu, rep.cpuErr = procfs.CPU(ch.pid())
	or.shutdownBegan()
	if err := ch.stop(o.drainTimeout); err != nil {
		rep.fail("stop: %v", err)
	}
	if rep.fdList != "" {
		rep.fdList = "before: " + fdListBefore + "; after: " + rep.fdList
	}
	rep.elapsed = time.Since(start)
	or.finalizeAll()
	rep.collect(s, or)
	return rep, nil
}

// waitSlots waits, at most timeout, for every slot to return.
func (s *soak) waitSlots(timeout time.Duration) bool {
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// showProgress prints a progress line every -progress until the deadline.
// It returns false early if died is closed (the server exited).
func (s *soak) showProgress(start time.Time, w io.Writer, died <-chan struct{}) bool {
	var tick <-chan time.Time
	if s.o.progress > 0 {
		t := time.NewTicker(s.o.progress)
		defer t.Stop()
		tick = t.C
	}
	end := time.NewTimer(time.Until(s.deadline))
	defer end.Stop()
	for {
		select {
		case <-end.C:
			return true
		case <-died:
			return false
		case <-tick:
			p := s.oracle.snapshot()
			fmt.Fprintf(w, "mobsoak: %5.0fs  connections %d (open %d)  frames %d  deliveries checked %d  violations %d\n",
				time.Since(start).Seconds(), s.nextID.Load(), p.open, p.frames, p.delivered, p.violations)
		}
	}
}
