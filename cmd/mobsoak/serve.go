package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netpoll"
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
}

// eventsFD is the descriptor of the pipe to the parent (ExtraFiles[0]).
const eventsFD = 3

// serveMain is the child: the server on the real kernel, on 127.0.0.1 with
// a port the kernel picks, with mob framing and an Observer that reports to
// the parent. It runs until SIGTERM or SIGINT (then shuts down gracefully)
// or until its stdin, a pipe from the parent, ends (the parent is gone).
// It returns the exit status.
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
	poller, err := netpoll.New()
	if err != nil {
		return fmt.Errorf("poller: %w", err)
	}
	defer poller.Close()
	ln, err := netpoll.Listen("tcp", "127.0.0.1:0", netpoll.ListenConfig{SendBufBytes: sc.SendBufBytes})
	if err != nil {
		return err
	}
	cfg := server.DefaultConfig()
	cfg.Framing = server.FramingMob
	cfg.FrameBytesMax = sc.FrameBytesMax
	cfg.QueueBytesMax = sc.QueueBytesMax
	cfg.ConnsMax = sc.ConnsMax
	cfg.IdleTimeout = sc.IdleTimeout
	cfg.LingerTimeout = sc.LingerTimeout
	cfg.ShutdownTimeout = sc.ShutdownTimeout
	cfg.Logger = log
	cfg.Observer = &observer{ev: ev, serials: map[kernel.Stream]uint32{}}
	srv, err := server.New(poller, ln, cfg)
	if err != nil {
		ln.Close()
		return fmt.Errorf("server: %w", err)
	}
	if sc.Bug != "" {
		if err := enableBug(srv, sc.Bug); err != nil {
			return err
		}
		log.Warn("bug switched on", "bug", sc.Bug)
	}
	// The Go runtime opens its own epoll descriptor and eventfd the first
	// time a timer is armed (the scavenger arms one after the heap has
	// grown). Sleep now, so those two exist before the parent counts the
	// server's descriptors, not only after.
	time.Sleep(time.Millisecond)
	ev.listening(ln.Addr().String())

	var stop atomic.Bool
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		stop.Store(true)
		poller.Wake()
	}()
	go func() {
		io.Copy(io.Discard, os.Stdin) // ends when the parent does
		stop.Store(true)
		poller.Wake()
	}()

	// The loop of Server.Run, with the events flushed before every tick:
	// the parent then learns of a tick's joins, frames and closes before
	// the server polls again, and a close is reported after its descriptor
	// is closed.
	for shut := false; !srv.Done(); {
		if err := ev.w.Flush(); err != nil {
			return fmt.Errorf("events: %w", err)
		}
		if !shut && stop.Load() {
			srv.Shutdown()
			shut = true
			continue // with nothing open, it is done at once
		}
		if err := srv.Tick(); err != nil {
			return err
		}
	}
	if err := ev.stats(srv.Stats()); err != nil {
		return err
	}
	if err := ev.w.Flush(); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	return pipe.Close()
}

// observer numbers the server's streams and reports to the parent. It runs
// on the event loop, like the server.
type observer struct {
	ev      *eventWriter
	serials map[kernel.Stream]uint32
	next    uint32
}

func (o *observer) Joined(st kernel.Stream) {
	o.next++
	o.serials[st] = o.next
	o.ev.joined(o.next, peer(st))
}

func (o *observer) Left(st kernel.Stream, r server.CloseReason) {
	o.ev.left(o.serials[st], r)
}

func (o *observer) Closed(st kernel.Stream, r server.CloseReason) {
	s, ok := o.serials[st]
	if !ok { // turned away before joining
		o.next++
		o.ev.refused(o.next, r, peer(st))
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

// peer is the client's address as the client sees its own: ip:port.
func peer(st kernel.Stream) string {
	if ra, ok := st.(interface{ RemoteAddr() net.Addr }); ok {
		return ra.RemoteAddr().String()
	}
	return fmt.Sprint(st)
}
