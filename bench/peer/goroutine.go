package peer

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"github.com/mobsim/mobsim/server"
)

// goPeer is the server a good Go engineer would write first: the runtime's
// netpoller behind blocking reads, a reader and a writer goroutine per
// connection, and a hub.
//
// The hub's mutex is the global order: a batch of frames is enqueued to every
// member while it is held. Each member's queue is a slice of shared,
// immutable frame batches bounded by a byte budget (QueueBytesMax, counted
// until the bytes are written), so an idle connection holds no queue memory
// and a frame is allocated once, not once per member. The writer takes the
// whole queue at once and writes it with one writev (net.Buffers).
type goPeer struct {
	cfg Config
	ln  *net.TCPListener
	wg  sync.WaitGroup

	mu      sync.Mutex // the hub: members and the global order
	members []*goClient
	all     map[*goClient]struct{} // every open connection, members or not
	closed  bool

	conns      atomic.Int64
	framesIn   atomic.Uint64
	deliveries atomic.Uint64
	writeCalls atomic.Uint64
	readCalls  atomic.Uint64
	closedN    atomic.Uint64
	cutSlow    atomic.Uint64
}

type goClient struct {
	p    *goPeer
	conn *net.TCPConn
	idx  int // in p.members while a member; guarded by p.mu

	mu     sync.Mutex // guards the queue
	q      [][]byte   // batches owed, oldest first
	spare  [][]byte   // the writer's last batch slice, reused
	qBytes int        // bytes owed, including the batch being written
	dead   bool       // cut or failed: enqueue nothing more
	eof    bool       // reader saw FIN: the writer flushes, then closes

	wake chan struct{} // cap 1: the queue gained work, or eof/dead changed
	bufs net.Buffers   // the writer's view of the batch being written
}

// goReadBufferBytes is the reader's initial buffer, bufio's default. It grows
// only for a frame that does not fit.
const goReadBufferBytes = 4 << 10

func startGoroutine(cfg Config) (Peer, error) {
	la, err := net.ResolveTCPAddr("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	ln, err := net.ListenTCP("tcp", la)
	if err != nil {
		return nil, err
	}
	p := &goPeer{cfg: cfg, ln: ln, all: make(map[*goClient]struct{})}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

func (p *goPeer) Addr() net.Addr { return p.ln.Addr() }

func (p *goPeer) Stats() Stats {
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

func (p *goPeer) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.closed = true
	ms := make([]*goClient, 0, len(p.all))
	for c := range p.all {
		ms = append(ms, c)
	}
	p.mu.Unlock()
	for _, c := range ms {
		c.conn.Close()
	}
	p.wg.Wait()
	return err
}

func (p *goPeer) acceptLoop() {
	defer p.wg.Done()
	for {
		conn, err := p.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // EMFILE and the like: the next accept may succeed
		}
		c := &goClient{p: p, conn: conn, wake: make(chan struct{}, 1)}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			conn.Close()
			return
		}
		c.idx = len(p.members)
		p.members = append(p.members, c)
		p.all[c] = struct{}{}
		p.mu.Unlock()
		p.conns.Add(1)
		p.wg.Add(2)
		go c.readLoop()
		go c.writeLoop()
	}
}

// broadcast enqueues one batch of complete frames to every member, in the
// hub's order.
func (p *goPeer) broadcast(batch []byte, frames int) {
	p.mu.Lock()
	for _, m := range p.members {
		m.enqueue(batch)
	}
	p.deliveries.Add(uint64(frames * len(p.members)))
	p.mu.Unlock()
}

// leave removes c from the hub in O(1).
func (p *goPeer) leave(c *goClient) {
	p.mu.Lock()
	if c.idx >= 0 {
		last := len(p.members) - 1
		p.members[c.idx] = p.members[last]
		p.members[c.idx].idx = c.idx
		p.members[last] = nil
		p.members = p.members[:last]
		c.idx = -1
	}
	p.mu.Unlock()
}

func (c *goClient) enqueue(batch []byte) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	if c.qBytes+len(batch) > c.p.cfg.QueueBytesMax {
		// Too far behind: cut it, as mob does. Closing the socket ends both
		// goroutines; the reader takes it out of the hub.
		c.dead = true
		c.mu.Unlock()
		c.p.cutSlow.Add(1)
		c.conn.Close()
		return
	}
	c.q = append(c.q, batch)
	c.qBytes += len(batch)
	c.mu.Unlock()
	c.signal()
}

func (c *goClient) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// readLoop reads frames and broadcasts every complete batch. Frames read in
// one call are broadcast together: one allocation and one enqueue per member
// for the lot, which keeps their order.
func (c *goClient) readLoop() {
	defer c.p.wg.Done()
	f, bodyMax := c.p.cfg.Framing, c.p.cfg.FrameBytesMax
	buf := make([]byte, goReadBufferBytes)
	held := 0
	for {
		if held == len(buf) {
			if len(buf) >= bodyMax+server.MobHeaderBytes+1 {
				break // cannot happen: Scan reports an over-long frame first
			}
			buf = append(buf, make([]byte, len(buf))...)
		}
		n, err := c.conn.Read(buf[held:])
		c.p.readCalls.Add(1)
		held += n
		k, frames, perr := completePrefix(f, buf[:held], bodyMax)
		if k > 0 {
			batch := make([]byte, k)
			copy(batch, buf[:k])
			c.p.framesIn.Add(uint64(frames))
			c.p.broadcast(batch, frames)
			held = copy(buf, buf[k:held])
		}
		if perr != nil || err != nil {
			break
		}
	}
	c.p.leave(c)
	c.mu.Lock()
	c.eof = true
	c.mu.Unlock()
	c.signal()
}

// writeLoop writes the queue, all of it per system call, until the reader
// has left and the queue is empty, or a write fails.
func (c *goClient) writeLoop() {
	defer c.p.wg.Done()
	defer c.finish()
	for range c.wake {
		for {
			c.mu.Lock()
			if c.dead || (c.eof && len(c.q) == 0) {
				c.mu.Unlock()
				return
			}
			if len(c.q) == 0 {
				c.mu.Unlock()
				break
			}
			// Swap the queue for the spare slice, so that enqueue and this
			// write reuse two arrays instead of growing new ones.
			q := c.q
			c.q, c.spare = c.spare[:0], nil
			c.mu.Unlock()
			c.bufs = q // a field, so WriteTo's receiver does not escape per call
			n, err := c.bufs.WriteTo(c.conn)
			c.p.writeCalls.Add(1)
			clear(q)
			c.mu.Lock()
			c.qBytes -= int(n)
			c.spare = q[:0]
			c.mu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

func (c *goClient) finish() {
	c.mu.Lock()
	c.dead = true
	c.q = nil
	c.mu.Unlock()
	c.conn.Close()
	c.p.mu.Lock()
	delete(c.p.all, c)
	c.p.mu.Unlock()
	c.p.conns.Add(-1)
	c.p.closedN.Add(1)
}
