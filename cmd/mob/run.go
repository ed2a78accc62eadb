package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"

	"github.com/mobsim/mobsim/internal/live"
	"github.com/mobsim/mobsim/netpoll"
	"github.com/mobsim/mobsim/server"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // setup failed or the event loop failed
	exitUsage = 2 // bad command line
)

// run is the whole command minus the process: it parses args, serves until
// ctx is done, shuts down gracefully and returns the exit status. Logs go
// to stderr. ready, if not nil, is called with the loop once it listens
// (tests use it for the address and the stats); it runs on run's goroutine
// and must not block.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(*live.Loop)) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	log := newLogger(stderr, o.logFormat, o.logLevel)
	warnFDLimit(o.cfg.ConnsMax, log)

	// The debug address is bound first: a bad or busy one is reported
	// before "listening", and no client ever connected.
	var dbgLn net.Listener
	if o.debugAddr != "" {
		if dbgLn, err = listenDebug(o.debugAddr); err != nil {
			log.Error("cannot start", "err", err)
			return exitError
		}
	}
	cfg := o.cfg
	cfg.Logger = log
	l, err := live.Listen(live.Config{Addr: o.addr, Listen: o.listen, Poller: netpoll.Config{NoIOUring: !o.ioURing}, Server: cfg,
		Record: o.record.live()})
	if err != nil {
		log.Error("cannot start", "err", err)
		if dbgLn != nil {
			dbgLn.Close()
		}
		return exitError
	}
	cfg = l.Config()
	if path, why := l.BatchPath(); errors.Is(why, netpoll.ErrIOUringOff) {
		log.Info("write batches", "path", path, "why", "-io-uring=false")
	} else if why != nil {
		log.Info("write batches", "path", path, "why", why)
	} else {
		log.Info("write batches", "path", path)
	}
	log.Info("listening", "addr", l.Addr().String(), "framing", cfg.Framing,
		"frame_bytes_max", cfg.FrameBytesMax, "queue_bytes_max", cfg.QueueBytesMax, "conns_max", cfg.ConnsMax)
	if r := o.record.live(); r != nil {
		log.Warn("recording every byte the clients send", "file", r.Path, "bytes_max", r.BytesMax, "writes", r.Writes, "digest_every", r.DigestEvery)
	}

	var dbg *debugServer
	if dbgLn != nil {
		dbg = serveDebug(dbgLn, l, log)
		log.Info("debug server", "addr", dbg.Addr(), "metrics", "/metrics", "health", "/healthz", "vars", "/debug/vars", "pprof", "/debug/pprof/")
	}
	if ready != nil {
		ready(l)
	}
	err = l.Run(ctx)
	if dbg != nil {
		if cerr := dbg.Close(); cerr != nil {
			log.Warn("close debug server", "err", cerr)
		}
	}
	st := l.Stats(0)
	log.Info("stopped", statsAttrs(st)...)
	if rs, ok := l.Recording(); ok {
		logRecording(log, o.record.path, rs)
	}
	if err != nil {
		log.Error("event loop failed", "err", err)
		return exitError
	}
	return exitOK
}

// statsAttrs lays out the counters for the final log line: totals, then
// close reasons that occurred, by name.
func statsAttrs(st server.Stats) []any {
	attrs := []any{
		"accepted", st.Accepted, "frames_in", st.FramesIn, "frames_out", st.FramesOut,
		"bytes_in", st.BytesIn, "bytes_out", st.BytesOut,
		"read_calls", st.ReadCalls, "write_calls", st.WriteCalls,
		"events", st.Events, "stale_events", st.StaleEvents, "ticks", st.Ticks,
		"accept_errors", st.AcceptErrors, "queued_bytes_hi", st.QueuedBytesHi,
		"input_bytes_hi", st.InputBytesHi, "input_evictions", st.InputEvictions, "throttles", st.Throttles,
	}
	var closed []any
	for _, r := range server.Reasons() {
		if n := st.Closed[r]; n > 0 {
			closed = append(closed, slog.Uint64(r.String(), n))
		}
	}
	return append(attrs, slog.Group("closed", closed...))
}
