package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mobsim/mobsim/bugs"
	"github.com/mobsim/mobsim/internal/live"
	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netpoll"
	"github.com/mobsim/mobsim/netrec"
	"github.com/mobsim/mobsim/server"
)

// serveEnv names the environment variable that makes the program the
// child: it holds the serveConfig as JSON.
const serveEnv = "MOBSOAK_SERVE"

// serveConfig is what the parent tells the child.
type serveConfig struct {
	FrameBytesMax   int
	QueueBytesMax   int
	SendBufBytes    int
	ConnsMax        int
	IdleTimeout     time.Duration
	LingerTimeout   time.Duration
	ShutdownTimeout time.Duration
	Bug             string // a catalog bug to switch on (the catalog build only)
	Record          string // record the server's seam to this file (internal/live's Record)
	NoIOUring       bool   // fan out with writev, not io_uring (netpoll.Config.NoIOUring)
}

// eventsFD is the descriptor of the pipe to the parent (ExtraFiles[0]).
const eventsFD = 3

// errParentGone ends the child when its stdin, a pipe from the parent,
// ends.
var errParentGone = errors.New("the parent closed stdin")

// serveMain is the child: the server on the real kernel, on 127.0.0.1 with
// a port the kernel picks, with mob framing and an Observer that reports to
// the parent. It runs until SIGTERM or SIGINT (then shuts down gracefully)
// or until its stdin ends (the parent is gone). It returns the exit status.
func serveMain() int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := serve(os.Getenv(serveEnv), log); err != nil {
		log.Error("mobsoak server", "err", err)
		return 1
	}
	return 0
}

func serve(cfgJSON string, log *slog.Logger) error {
	var sc serveConfig
	if err := json.Unmarshal([]byte(cfgJSON), &sc); err != nil {
		return fmt.Errorf("config from %s: %w", serveEnv, err)
	}
	pipe := os.NewFile(eventsFD, "events")
	if pipe == nil {
		return fmt.Errorf("no events pipe on descriptor %d", eventsFD)
	}
	ev := &eventWriter{w: bufio.NewWriterSize(pipe, 64<<10)}
	cfg := sc.server()
	cfg.Logger = log
	cfg.Observer = &observer{ev: ev, serials: map[kernel.Stream]uint32{}, byRecording: sc.Record != ""}
	// The events are flushed before every tick: the parent then learns of
	// a tick's joins, frames and closes before the server polls again, and
	// a close is reported after its descriptor is closed.
	lc := live.Config{
		Addr:       "127.0.0.1:0",
		Listen:     netpoll.ListenConfig{SendBufBytes: sc.SendBufBytes},
		Poller:     netpoll.Config{NoIOUring: sc.NoIOUring},
		Server:     cfg,
		BeforeTick: func() error { return wrapEvents(ev.w.Flush()) },
	}
	if sc.Bug != "" {
		lc.Bugs, lc.EnableBugs = []string{sc.Bug}, bugs.Enable
	}
	if sc.Record != "" {
		lc.Record = &live.Record{Path: sc.Record, Writes: netrec.WriteCounts, DigestEvery: live.DefaultDigestEvery, Program: "mobsoak"}
	}
	l, err := live.Listen(lc)
	if err != nil {
		return err
	}
	if sc.Bug != "" {
		log.Warn("bug switched on", "bug", sc.Bug)
	}
	ev.listening(l.Addr().String())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		io.Copy(io.Discard, os.Stdin) // ends when the parent does
		cancel(errParentGone)
	}()
	if err := l.Run(ctx); err != nil {
		return err
	}
	if err := ev.stats(l.Stats(0)); err != nil {
		return err
	}
	if err := wrapEvents(ev.w.Flush()); err != nil {
		return err
	}
	return pipe.Close()
}

func wrapEvents(err error) error {
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	return nil
}

// observer numbers the server's streams and reports to the parent. It runs
// on the event loop, like the server. When the server is recorded the
// numbers are the recording's stream ids, so the parent's connection ids
// are the replay's.
type observer struct {
	ev          *eventWriter
	serials     map[kernel.Stream]uint32
	next        uint32
	byRecording bool
}

// serial numbers st, which the observer hears of for the first time.
func (o *observer) serial(st kernel.Stream) uint32 {
	if id, ok := netrec.ID(st); ok && o.byRecording {
		return uint32(id)
	}
	o.next++
	return o.next
}

func (o *observer) Joined(st kernel.Stream) {
	s := o.serial(st)
	o.serials[st] = s
	o.ev.joined(s, peer(st))
}

func (o *observer) Left(st kernel.Stream, r server.CloseReason) {
	o.ev.left(o.serials[st], r)
}

func (o *observer) Closed(st kernel.Stream, r server.CloseReason) {
	s, ok := o.serials[st]
	if !ok { // turned away before joining
		o.ev.refused(o.serial(st), r, peer(st))
		return
	}
	delete(o.serials, st)
	o.ev.closed(s, r)
}

// Frame reports the frame's key (the first 8 bytes of its body, after the
// 8-byte header) and body size. head and tail together are the frame.
func (o *observer) Frame(from kernel.Stream, head, tail []byte) {
	var k [headerBytes + keyBytes]byte
	n := copy(k[:], head)
	copy(k[n:], tail)
	size := len(head) + len(tail) - headerBytes
	var key uint64
	if size >= keyBytes {
		key = binary.BigEndian.Uint64(k[headerBytes:])
	}
	o.ev.frame(o.serials[from], key, uint32(size))
}

// peer is the client's address as the client sees its own: ip:port. A
// recorded stream is asked through to the kernel's.
func peer(st kernel.Stream) string {
	if u, ok := st.(interface{ Unwrap() kernel.Stream }); ok {
		st = u.Unwrap()
	}
	if ra, ok := st.(interface{ RemoteAddr() net.Addr }); ok {
		return ra.RemoteAddr().String()
	}
	return fmt.Sprint(st)
}
