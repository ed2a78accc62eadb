package peer

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// gnetLogger keeps gnet's warnings and errors and drops the rest: gnet logs
// its start-up banner to standard output, which cmd/peer reserves for
// replies.
type gnetLogger struct{}

func (gnetLogger) Debugf(string, ...any) {}
func (gnetLogger) Infof(string, ...any)  {}
func (gnetLogger) Warnf(format string, args ...any) {
	slog.Warn("gnet: " + fmt.Sprintf(format, args...))
}
func (gnetLogger) Errorf(format string, args ...any) {
	slog.Error("gnet: " + fmt.Sprintf(format, args...))
}
func (gnetLogger) Fatalf(format string, args ...any) {
	slog.Error("gnet: " + fmt.Sprintf(format, args...))
	os.Exit(1)
}

// gnetPeer is a gnet v2 broadcaster. OnTraffic cuts the inbound buffer into
// complete frames and fans the whole batch out at once, then discards it.
//
// Single loop (gnet's default, Multicore false): every callback runs on one
// goroutine, so writing to another connection with Conn.Write is safe; gnet
// writes at once and keeps what the socket does not take in the
// connection's outbound buffer. Conn.Write may close a connection (and call
// OnClose) synchronously on a write error, so the fan-out walks a snapshot
// of the member list and skips members closed meanwhile.
//
// Batched ("gnet-batch", single loop): the straightforward design makes one
// write per member for every OnTraffic, i.e. per sender's read, and gnet has
// no end-of-iteration hook to coalesce them. This variant appends the batch
// to a per-member pending buffer and schedules one flush task with
// EventLoop.Execute. gnet runs queued tasks after the I/O events of the
// epoll batch that reports their wake-up, so each member gets one Write for
// everything read until then.
//
// Multicore ("gnet-mc", one loop per CPU): connections live on different
// loops, and gnet's concurrency-safe cross-loop path is AsyncWrite. The
// fan-out holds a mutex while it queues the batch to every member; each
// loop's task queue is FIFO, so that mutex is the global order.
type gnetPeer struct {
	gnet.BuiltinEventEngine

	cfg       Config
	mode      gnetMode
	multicore bool
	eng       gnet.Engine
	addr      net.Addr
	booted    chan struct{}
	done      chan error

	mu      sync.Mutex // guards members when multicore
	members []*gnetMember
	scratch []*gnetMember

	dirty     []*gnetMember // gnet-batch: members with pending output
	scheduled bool          // gnet-batch: a flush task is queued
	flushTask gnet.Runnable

	conns      atomic.Int64
	framesIn   atomic.Uint64
	deliveries atomic.Uint64
	writeCalls atomic.Uint64
	readCalls  atomic.Uint64
	closedN    atomic.Uint64
	cutSlow    atomic.Uint64
}

type gnetMember struct {
	c       gnet.Conn
	idx     int
	closed  bool   // OnClose ran, or it was cut; never written to again
	pending []byte // gnet-batch: output waiting for the flush task
	dirty   bool   // gnet-batch: on gnetPeer.dirty
}

type gnetMode uint8

const (
	gnetDirect gnetMode = iota // single loop, Conn.Write per OnTraffic
	gnetBatch                  // single loop, one flush per loop iteration
	gnetAsync                  // multicore, AsyncWrite
)

// gnetPendingKeepBytes bounds the pending buffer a member keeps after a
// flush, so a burst does not pin memory on an idle connection.
const gnetPendingKeepBytes = 64 << 10

func startGnet(cfg Config, mode gnetMode) (Peer, error) {
	p := &gnetPeer{cfg: cfg, mode: mode, multicore: mode == gnetAsync, booted: make(chan struct{}), done: make(chan error, 1)}
	p.flushTask = gnet.RunnableFunc(p.flush)
	go func() {
		p.done <- gnet.Run(p, "tcp://"+cfg.Addr,
			gnet.WithMulticore(p.multicore),
			gnet.WithTCPNoDelay(gnet.TCPNoDelay),
			gnet.WithLogger(gnetLogger{}))
	}()
	select {
	case <-p.booted:
	case err := <-p.done:
		return nil, fmt.Errorf("gnet: %w", err)
	}
	addr, err := gnetAddr(p.eng)
	if err != nil {
		_ = p.Close()
		return nil, err
	}
	p.addr = addr
	return p, nil
}

// gnetAddr finds the port gnet bound for ":0": the engine has no Addr
// method, but it lends a duplicate of the listening descriptor.
func gnetAddr(eng gnet.Engine) (net.Addr, error) {
	fd, err := eng.Dup()
	if err != nil {
		return nil, fmt.Errorf("gnet: dup listener: %w", err)
	}
	defer unix.Close(fd)
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil, fmt.Errorf("gnet: getsockname: %w", err)
	}
	in4, ok := sa.(*unix.SockaddrInet4)
	if !ok {
		return nil, fmt.Errorf("gnet: listener address %T is not IPv4", sa)
	}
	return &net.TCPAddr{IP: net.IP(in4.Addr[:]), Port: in4.Port}, nil
}

func (p *gnetPeer) Addr() net.Addr { return p.addr }

func (p *gnetPeer) Stats() Stats {
	return Stats{
		Conns:      int(p.conns.Load()),
		FramesIn:   p.framesIn.Load(),
		Deliveries: p.deliveries.Load(),
		WriteCalls: p.writeCalls.Load(),
		ReadCalls:  p.readCalls.Load(),
		Closed:     p.closedN.Load(),
		CutSlow:    p.cutSlow.Load(),
	}
}

func (p *gnetPeer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := p.eng.Stop(ctx)
	if runErr := <-p.done; runErr != nil && err == nil {
		err = runErr
	}
	return err
}

func (p *gnetPeer) OnBoot(eng gnet.Engine) gnet.Action {
	p.eng = eng
	close(p.booted)
	return gnet.None
}

func (p *gnetPeer) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	m := &gnetMember{c: c}
	c.SetContext(m)
	p.lock()
	m.idx = len(p.members)
	p.members = append(p.members, m)
	p.unlock()
	p.conns.Add(1)
	return nil, gnet.None
}

func (p *gnetPeer) OnClose(c gnet.Conn, _ error) gnet.Action {
	m, ok := c.Context().(*gnetMember)
	if !ok {
		return gnet.None
	}
	p.lock()
	m.closed = true
	m.pending = nil
	if m.idx >= 0 {
		last := len(p.members) - 1
		p.members[m.idx] = p.members[last]
		p.members[m.idx].idx = m.idx
		p.members[last] = nil
		p.members = p.members[:last]
		m.idx = -1
	}
	p.unlock()
	p.conns.Add(-1)
	p.closedN.Add(1)
	return gnet.None
}

func (p *gnetPeer) OnTraffic(c gnet.Conn) gnet.Action {
	p.readCalls.Add(1) // gnet made one read(2) for this call
	buf, _ := c.Peek(-1)
	k, frames, err := completePrefix(p.cfg.Framing, buf, p.cfg.FrameBytesMax)
	if k > 0 {
		p.framesIn.Add(uint64(frames))
		switch p.mode {
		case gnetDirect:
			p.fanout(buf[:k], frames)
		case gnetBatch:
			p.fanoutBatched(c, buf[:k], frames)
		case gnetAsync:
			p.fanoutAsync(buf[:k], frames)
		}
		_, _ = c.Discard(k)
	}
	if err != nil {
		return gnet.Close
	}
	return gnet.None
}

// fanout writes batch to every member from the single event loop.
func (p *gnetPeer) fanout(batch []byte, frames int) {
	ms := append(p.scratch[:0], p.members...)
	p.deliveries.Add(uint64(frames * len(ms)))
	limit := p.cfg.QueueBytesMax
	for _, m := range ms {
		if m.closed {
			continue
		}
		if m.c.OutboundBuffered()+len(batch) > limit {
			p.cut(m)
			continue
		}
		_, _ = m.c.Write(batch)
		p.writeCalls.Add(1)
	}
	clear(ms)
	p.scratch = ms[:0]
}

// fanoutBatched appends batch to every member's pending output and makes
// sure a flush task is queued.
func (p *gnetPeer) fanoutBatched(c gnet.Conn, batch []byte, frames int) {
	p.deliveries.Add(uint64(frames * len(p.members)))
	limit := p.cfg.QueueBytesMax
	for _, m := range p.members {
		if m.closed {
			continue
		}
		if len(m.pending)+m.c.OutboundBuffered()+len(batch) > limit {
			p.cut(m)
			continue
		}
		m.pending = append(m.pending, batch...)
		if !m.dirty {
			m.dirty = true
			p.dirty = append(p.dirty, m)
		}
	}
	if !p.scheduled {
		if err := c.EventLoop().Execute(context.Background(), p.flushTask); err == nil {
			p.scheduled = true
		}
	}
}

// flush runs on the loop after the I/O events of an iteration: one Write per
// member with pending output.
func (p *gnetPeer) flush(context.Context) error {
	p.scheduled = false
	ms := append(p.scratch[:0], p.dirty...)
	clear(p.dirty)
	p.dirty = p.dirty[:0]
	for _, m := range ms {
		m.dirty = false
		if !m.closed && len(m.pending) > 0 {
			_, _ = m.c.Write(m.pending)
			p.writeCalls.Add(1)
		}
		if cap(m.pending) > gnetPendingKeepBytes {
			m.pending = nil
		} else {
			m.pending = m.pending[:0]
		}
	}
	clear(ms)
	p.scratch = ms[:0]
	return nil
}

// fanoutAsync queues a private copy of batch to every member through
// AsyncWrite, under the mutex that makes the order global.
func (p *gnetPeer) fanoutAsync(batch []byte, frames int) {
	own := append([]byte(nil), batch...)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deliveries.Add(uint64(frames * len(p.members)))
	for _, m := range p.members {
		if err := m.c.AsyncWrite(own, p.afterAsync); err == nil {
			p.writeCalls.Add(1)
		}
	}
}

// afterAsync runs on the member's own loop after its write: the one place
// its outbound buffer may be read.
func (p *gnetPeer) afterAsync(c gnet.Conn, err error) error {
	if err == nil && c.OutboundBuffered() > p.cfg.QueueBytesMax {
		if m, ok := c.Context().(*gnetMember); ok && !m.closed {
			p.cut(m)
		}
	}
	return nil
}

// cut closes a member that fell more than QueueBytesMax behind. Close is
// asynchronous; the member is marked so nothing more is written to it.
func (p *gnetPeer) cut(m *gnetMember) {
	m.closed = true
	p.cutSlow.Add(1)
	_ = m.c.Close()
}

func (p *gnetPeer) lock() {
	if p.multicore {
		p.mu.Lock()
	}
}

func (p *gnetPeer) unlock() {
	if p.multicore {
		p.mu.Unlock()
	}
}
