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

	"github.com/mobsim/mobsim/internal/child"
	"github.com/mobsim/mobsim/internal/procfs"
)

// serverProc is the child process that runs the server, and the stream of
// its events.
type serverProc struct {
	proc   *child.Proc
	stdin  io.WriteCloser // closing it tells the child the parent is gone
	addr   string
	evDone chan struct{} // the event stream ended
	evErr  error
}

// startServer re-executes this program as the server configured as sc,
// with the events pipe as descriptor 3, and waits for the address it
// listens on. Its stderr (warnings and errors only) goes to stderr.
func startServer(sc serveConfig, or *oracle, stderr io.Writer) (*serverProc, error) {
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
	proc, err := child.Start(cmd)
	w.Close() // the child holds the write end now: its exit ends the stream
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("server: %w", err)
	}
	srv := &serverProc{proc: proc, stdin: stdin, evDone: make(chan struct{})}
	br := bufio.NewReaderSize(r, 256<<10)
	ev, err := readEvent(br)
	if err != nil || ev.kind != evListening {
		proc.Kill()
		r.Close()
		return nil, fmt.Errorf("server did not start (first event %q, %v)", ev.kind, err)
	}
	srv.addr = ev.addr
	go srv.readEvents(br, r, or)
	return srv, nil
}

// readEvents feeds the oracle in batches (as many records as are buffered)
// until the child closes the pipe.
func (srv *serverProc) readEvents(br *bufio.Reader, r io.Closer, or *oracle) {
	defer close(srv.evDone)
	defer r.Close()
	batch := make([]event, 0, 4096)
	for {
		ev, err := readEvent(br)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				srv.evErr = err
			}
			return
		}
		batch = append(batch[:0], ev)
		for br.Buffered() > 0 && len(batch) < cap(batch) {
			ev, err := readEvent(br)
			if err != nil {
				or.apply(batch)
				if !errors.Is(err, io.EOF) {
					srv.evErr = err
				}
				return
			}
			batch = append(batch, ev)
		}
		or.apply(batch)
	}
}

// stop sends SIGTERM and waits, bounded, for the process to exit and the
// events to end.
func (srv *serverProc) stop(timeout time.Duration) error {
	if err := srv.proc.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM: %w", err)
	}
	deadline := time.Now().Add(timeout)
	if err := srv.proc.Wait(timeout); err != nil {
		return fmt.Errorf("server exit: %w", err)
	}
	select {
	case <-srv.evDone:
	case <-time.After(time.Until(deadline)):
		return fmt.Errorf("server events still open %v after SIGTERM", timeout)
	}
	srv.stdin.Close()
	if srv.evErr != nil {
		return fmt.Errorf("events: %w", srv.evErr)
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
	limit, err := child.RaiseNOFILE()
	if err != nil {
		return nil, err
	}
	if need := uint64(2*o.clients + 100); limit < need {
		return nil, fmt.Errorf("RLIMIT_NOFILE is %d; %d clients need about %d (raise the hard limit)", limit, o.clients, need)
	}
	sc := childConfig(o)
	or := newOracle(o.payloadMax, sc.server())
	or.recording = o.record != ""
	srv, err := startServer(sc, or, stderr)
	if err != nil {
		return nil, err
	}
	defer srv.proc.Kill()
	rep := &report{o: o, nofile: limit}
	rep.fdsBefore, rep.fdErr = procFDs(srv.proc.Pid())
	fdListBefore := procfs.FDList(srv.proc.Pid())

	start := time.Now()
	s := &soak{
		o: o, addr: srv.addr, oracle: or, finish: make(chan struct{}),
		deadline: start.Add(o.duration),
		hard:     start.Add(o.duration + 4*o.drainTimeout + 2*o.lingerTimeout),
	}
	for i := range o.clients {
		s.wg.Add(1)
		go s.slot(i)
	}
	if !s.showProgress(start, stderr, srv.proc.Exited()) {
		// The server died: nothing to drain. Let the clients see it and
		// report what was checked up to then.
		rep.fail("the server exited during the run: %v", srv.proc.Err())
		close(s.finish)
		s.waitSlots(o.drainTimeout)
		rep.elapsed = time.Since(start)
		or.finalizeAll()
		rep.collect(s, or)
		rep.recording = settleRecording(o, or, rep.ok())
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
		rep.fdsAfter, rep.fdErr = procFDs(srv.proc.Pid())
		if rep.fdErr == nil && rep.fdsAfter != rep.fdsBefore {
			rep.fdList = procfs.FDList(srv.proc.Pid())
		}
	}
	rep.rss, rep.hwm, rep.memErr = procfs.Memory(srv.proc.Pid())
	rep.cpu, rep.cpuErr = procfs.CPU(srv.proc.Pid())
	or.shutdownBegan()
	if err := srv.stop(o.drainTimeout); err != nil {
		rep.fail("stop: %v", err)
	}
	if rep.fdList != "" {
		rep.fdList = "before: " + fdListBefore + "; after: " + rep.fdList
	}
	rep.elapsed = time.Since(start)
	or.finalizeAll()
	rep.collect(s, or)
	rep.recording = settleRecording(o, or, rep.ok())
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
