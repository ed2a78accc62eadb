package main

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/mobsim/mobsim/netpoll"
	"github.com/mobsim/mobsim/server"
)

// loop is one server on the real kernel. The server is single-threaded:
// only the goroutine in serve touches it. Other goroutines (the signal
// watcher, the debug HTTP server, tests) talk to it through two atomic
// flags and the poller's Wake, and read stats from a snapshot the loop
// publishes when asked.
type loop struct {
	poller *netpoll.Poller
	ln     *netpoll.Listener
	srv    *server.Server
	addr   string // the bound address, with the port the kernel chose
	log    *slog.Logger

	stopReq atomic.Bool                   // set by Stop; read before every tick
	snapReq atomic.Bool                   // set by Stats; read before every tick
	snap    atomic.Pointer[server.Stats]  // the latest published snapshot
	next    atomic.Pointer[chan struct{}] // closed when the next snapshot is out
	done    atomic.Bool                   // serve has returned; snap is final
}

// newLoop opens the poller and the listener and builds the server on them.
func newLoop(o options, log *slog.Logger) (*loop, error) {
	poller, err := netpoll.New()
	if err != nil {
		return nil, fmt.Errorf("poller: %w", err)
	}
	ln, err := netpoll.Listen("tcp", o.addr, o.listen)
	if err != nil {
		poller.Close()
		return nil, err
	}
	cfg := o.cfg
	cfg.Logger = log
	srv, err := server.New(poller, ln, cfg)
	if err != nil {
		ln.Close()
		poller.Close()
		return nil, fmt.Errorf("server: %w", err)
	}
	l := &loop{poller: poller, ln: ln, srv: srv, addr: ln.Addr().String(), log: log}
	st := srv.Stats()
	l.snap.Store(&st)
	ch := make(chan struct{})
	l.next.Store(&ch)
	return l, nil
}

// serve runs the event loop on the calling goroutine until a shutdown
// requested by Stop completes, or the poller fails. Then it publishes the
// final stats and closes the poller.
func (l *loop) serve() error {
	err := l.srv.Run(l.beforeTick)
	l.finish()
	if cerr := l.poller.Close(); cerr != nil {
		l.log.Warn("close poller", "err", cerr)
	}
	if err != nil {
		return fmt.Errorf("event loop: %w", err)
	}
	return nil
}

// beforeTick is the server's stop function, called on the loop goroutine
// before every tick until shutdown starts: the one place where requests
// from other goroutines are taken up.
func (l *loop) beforeTick() bool {
	if l.snapReq.Swap(false) {
		l.publish()
	}
	return l.stopReq.Load()
}

// publish stores a snapshot of the stats and wakes whoever waits for it.
// Only the loop goroutine calls it.
func (l *loop) publish() {
	st := l.srv.Stats()
	l.snap.Store(&st)
	ch := make(chan struct{})
	close(*l.next.Swap(&ch))
}

// finish publishes the final stats for good: from now on Stats returns them
// at once, without asking a loop that no longer runs.
func (l *loop) finish() {
	st := l.srv.Stats()
	l.snap.Store(&st)
	l.done.Store(true)
	ch := make(chan struct{})
	close(ch)
	close(*l.next.Swap(&ch))
}

// Stop asks for a graceful shutdown. Safe from any goroutine, any number of
// times.
func (l *loop) Stop() {
	l.stopReq.Store(true)
	l.wake()
}

// Stats returns the server's counters as the loop last published them,
// after asking it for a fresh snapshot and waiting up to wait for it. Safe
// from any goroutine. During a shutdown the loop stops taking requests, so
// the snapshot is the one from before it (or the final one once done).
func (l *loop) Stats(wait time.Duration) server.Stats {
	if !l.done.Load() {
		next := *l.next.Load()
		l.snapReq.Store(true)
		l.wake()
		t := time.NewTimer(wait)
		select {
		case <-next:
		case <-t.C:
		}
		t.Stop()
	}
	return *l.snap.Load()
}

// Addr is the address the server listens on.
func (l *loop) Addr() string { return l.addr }

func (l *loop) wake() {
	if l.done.Load() {
		return // the poller is closed or about to be
	}
	if err := l.poller.Wake(); err != nil {
		l.log.Debug("wake", "err", err)
	}
}
