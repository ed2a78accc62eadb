package live

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mobsim/mobsim/netpoll"
	"github.com/mobsim/mobsim/server"
)

// Config is what a Loop is built from.
type Config struct {
	Addr   string               // where to listen, e.g. "127.0.0.1:0"
	Listen netpoll.ListenConfig // options of the listener and the sockets it accepts
	Poller netpoll.Config       // options of the poller (io_uring for the batched fan-out, or not)
	Server server.Config        // the core's limits, Logger and Observer

	// BeforeTick, if not nil, runs on the loop goroutine before every tick
	// and once after the last one. An error ends Serve at once, without
	// the rest of the shutdown.
	BeforeTick func() error
}

// Loop is one server on the real kernel and the goroutine-safe handles to
// it.
type Loop struct {
	poller *netpoll.Poller
	srv    *server.Server
	addr   net.Addr
	log    *slog.Logger
	before func() error

	stopReq atomic.Bool // set by Stop; read before every tick

	// Stats requests are numbered; the loop answers the latest by taking a
	// snapshot after it has read that number, so a snapshot marked
	// answered >= n was taken after request n was made. Nothing here
	// allocates, so a Stats call does not show in the allocation counts
	// of the benchmarks.
	reqMu    sync.Mutex    // one Stats request at a time; guards timer
	timer    *time.Timer   // the request's wait, reused
	asked    atomic.Uint64 // number of the latest request
	answered atomic.Uint64 // latest request number a snapshot was taken after
	reply    chan struct{} // (capacity 1) a snapshot was published
	snapMu   sync.Mutex
	snap     server.Stats       // the latest snapshot, under snapMu
	snapKern netpoll.BatchStats // the poller's batch counters, in the same snapshot
	done     chan struct{}      // closed when Serve has returned: snap is final
}

// Listen opens the poller and the listener and builds the server on them.
// Nothing is served until Serve or Run.
func Listen(cfg Config) (*Loop, error) {
	poller, err := netpoll.NewConfig(cfg.Poller)
	if err != nil {
		return nil, fmt.Errorf("poller: %w", err)
	}
	ln, err := netpoll.Listen("tcp", cfg.Addr, cfg.Listen)
	if err != nil {
		poller.Close()
		return nil, err
	}
	srv, err := server.New(poller, ln, cfg.Server)
	if err != nil {
		ln.Close()
		poller.Close()
		return nil, fmt.Errorf("server: %w", err)
	}
	l := &Loop{
		poller: poller, srv: srv, addr: ln.Addr(), log: srv.Config().Logger, before: cfg.BeforeTick,
		timer: time.NewTimer(time.Hour), reply: make(chan struct{}, 1), snap: srv.Stats(), done: make(chan struct{}),
	}
	l.timer.Stop()
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	return l, nil
}

// Addr is the address the server listens on, with the port the kernel
// chose.
func (l *Loop) Addr() net.Addr { return l.addr }

// BatchPath says how the poller makes the server's batched fan-out, and
// why not through io_uring when it does not (netpoll.Poller.BatchPath),
// for the start-up log. Call it before Serve: a ring that fails later
// changes it on the loop's goroutine.
func (l *Loop) BatchPath() (netpoll.BatchPath, error) { return l.poller.BatchPath() }

// BatchStats returns the poller's batch counters (netpoll.BatchStats: the
// system calls the batched fan-out made) as of the latest Stats snapshot:
// call Stats first for a fresh one.
func (l *Loop) BatchStats() netpoll.BatchStats {
	l.snapMu.Lock()
	defer l.snapMu.Unlock()
	return l.snapKern
}

// Config is the core's configuration in force, defaults filled in.
func (l *Loop) Config() server.Config { return l.srv.Config() }

// Server is the core itself, for setup before Serve (the soak switches on
// a catalog bug there). Once Serve runs, only its goroutine may touch it.
func (l *Loop) Server() *server.Server { return l.srv }

// Serve runs the event loop on the calling goroutine until a shutdown
// requested by Stop completes, the poller fails or BeforeTick fails. Then
// it publishes the final stats and closes the poller. Call it once.
func (l *Loop) Serve() error {
	err := l.loop()
	l.finish()
	if cerr := l.poller.Close(); cerr != nil {
		l.log.Warn("close poller", "err", cerr)
	}
	if err != nil {
		return fmt.Errorf("event loop: %w", err)
	}
	return nil
}

func (l *Loop) loop() error {
	for shutdown := false; ; {
		l.answer()
		if l.before != nil {
			if err := l.before(); err != nil {
				return err
			}
		}
		if l.srv.Done() {
			return nil
		}
		if !shutdown && l.stopReq.Load() {
			l.srv.Shutdown()
			shutdown = true
			continue // with nothing open it is done at once: no tick
		}
		if err := l.srv.Tick(); err != nil {
			return err
		}
	}
}

// Run is Serve with ctx's end as the stop request: it returns once the
// shutdown that follows completes (or the loop fails first).
func (l *Loop) Run(ctx context.Context) error {
	served := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-ctx.Done():
			l.log.Info("stop requested", "cause", context.Cause(ctx))
			l.Stop()
		case <-served:
		}
	}()
	err := l.Serve()
	close(served)
	<-watched
	return err
}

// Stop asks for a graceful shutdown.
func (l *Loop) Stop() {
	l.stopReq.Store(true)
	l.wake()
}

// Stats returns the server's counters: a snapshot the loop takes after
// the call, or, if none comes within wait, the latest one.
func (l *Loop) Stats(wait time.Duration) server.Stats {
	l.ask(wait)
	return l.latest()
}

// ask makes a request and waits up to wait for the loop to take a
// snapshot after it. It reports whether one came: false when the wait
// passed or Serve returned first (the final snapshot is in place then).
func (l *Loop) ask(wait time.Duration) bool {
	l.reqMu.Lock()
	defer l.reqMu.Unlock()
	n := l.asked.Add(1)
	l.wake()
	l.timer.Reset(wait)
	defer l.timer.Stop()
	for l.answered.Load() < n {
		select {
		case <-l.reply:
		case <-l.timer.C:
			return false
		case <-l.done:
			return false
		}
	}
	return true
}

func (l *Loop) latest() server.Stats {
	l.snapMu.Lock()
	defer l.snapMu.Unlock()
	return l.snap
}

// answer takes a snapshot if a request came since the last one. Only the
// loop goroutine calls it.
func (l *Loop) answer() {
	n := l.asked.Load()
	if n == l.answered.Load() {
		return
	}
	l.store(l.srv.Stats())
	l.answered.Store(n)
	select {
	case l.reply <- struct{}{}:
	default: // a reply nobody took yet is there: the waiter re-checks answered
	}
}

func (l *Loop) store(st server.Stats) {
	kern := l.poller.BatchStats()
	l.snapMu.Lock()
	l.snap, l.snapKern = st, kern
	l.snapMu.Unlock()
}

// finish publishes the final stats for good: from now on Stats returns them
// at once, without asking a loop that no longer runs.
func (l *Loop) finish() {
	l.store(l.srv.Stats())
	close(l.done)
}

func (l *Loop) wake() {
	select {
	case <-l.done:
		return // the poller is closed or about to be
	default:
	}
	if err := l.poller.Wake(); err != nil {
		l.log.Debug("wake", "err", err)
	}
}
