package load

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mobsim/mobsim/server"
)

// FleetConfig describes a set of clients that all send and all receive.
type FleetConfig struct {
	Addr       string
	Framing    server.Framing
	Clients    int
	FrameBytes int // bytes per frame, header or newline included
	// Window bounds each client's own frames in flight (sent, not yet
	// received back) when Rate is 0: the clients send flat out, clocked by
	// the server's echoes, and no queue grows without bound.
	Window int
	// Rate is the total frames per second all clients send together, spread
	// evenly over them at random phases; 0 means flat out.
	Rate float64
	// Sources is how many 127.0.0.x source addresses to spread clients over.
	Sources int
}

// phases of a run, read by every receiver once per read call.
const (
	phaseWarm int32 = iota
	phaseMeasure
	phaseDone
)

// Fleet is a running set of clients.
type Fleet struct {
	cfg     FleetConfig
	clients []*client
	base    time.Time
	phase   atomic.Int32
	stop    chan struct{}
	wg      sync.WaitGroup

	t0, t1 time.Time
}

type client struct {
	f    *Fleet
	id   uint32
	conn *net.TCPConn

	window chan struct{} // tokens: own frames that may be in flight

	// Owned by the reader goroutine until the fleet stops.
	hist      Hist
	delivered uint64
	lastSeq   []uint32 // per sender: last seq seen + 1; 0 = none yet
	orderErrs uint64
	parseErrs uint64
	readErr   error // unexpected end of the connection during the run
	writeErr  error
}

// FleetResult is what a fleet measured between Measure and Stop.
type FleetResult struct {
	Elapsed    time.Duration
	Deliveries uint64 // frames received, over all clients
	Latency    Hist
	Errors     uint64 // order, parse, read and write errors together
	FirstError error
}

// StartFleet connects every client and starts its reader and sender. The
// fleet is warming up until Measure.
func StartFleet(ctx context.Context, cfg FleetConfig) (*Fleet, error) {
	if err := checkFrameBytes(cfg.FrameBytes); err != nil {
		return nil, err
	}
	if cfg.Rate < 0 || (cfg.Rate == 0 && cfg.Window < 1) || cfg.Clients < 1 {
		return nil, fmt.Errorf("fleet of %d clients at rate %v with window %d sends nothing", cfg.Clients, cfg.Rate, cfg.Window)
	}
	d, err := newDialer(cfg.Addr, cfg.Sources)
	if err != nil {
		return nil, err
	}
	conns, err := d.dialMany(ctx, cfg.Clients, 64)
	if err != nil {
		return nil, err
	}
	f := &Fleet{cfg: cfg, base: time.Now(), stop: make(chan struct{})}
	for i, conn := range conns {
		c := &client{f: f, id: uint32(i), conn: conn, lastSeq: make([]uint32, cfg.Clients)}
		if cfg.Rate == 0 {
			c.window = make(chan struct{}, cfg.Window)
			for range cfg.Window {
				c.window <- struct{}{}
			}
		}
		f.clients = append(f.clients, c)
	}
	return f, nil
}

// Go starts the readers and senders. Call it once the server has every
// client, so that no client misses the start of the traffic.
func (f *Fleet) Go() {
	rng := rand.New(rand.NewPCG(uint64(f.base.UnixNano()), 7))
	for _, c := range f.clients {
		f.wg.Add(2)
		go c.readLoop()
		if f.cfg.Rate == 0 {
			go c.sendFlatOut()
		} else {
			interval := time.Duration(float64(time.Second) * float64(f.cfg.Clients) / f.cfg.Rate)
			go c.sendAtRate(interval, time.Duration(rng.Int64N(int64(interval))))
		}
	}
}

func (f *Fleet) now() int64 { return int64(time.Since(f.base)) }

// Measure starts the measured window.
func (f *Fleet) Measure() {
	f.t0 = time.Now()
	f.phase.Store(phaseMeasure)
}

// End ends the measured window; the clients keep running until Stop.
func (f *Fleet) End() {
	if f.phase.Swap(phaseDone) != phaseDone {
		f.t1 = time.Now()
	}
}

// Stop ends the window if End has not, stops the clients and returns the
// figures.
func (f *Fleet) Stop() FleetResult {
	f.End()
	close(f.stop)
	conns := make([]*net.TCPConn, len(f.clients))
	for i, c := range f.clients {
		conns[i] = c.conn
	}
	closeAll(conns)
	f.wg.Wait()
	r := FleetResult{Elapsed: f.t1.Sub(f.t0)}
	for _, c := range f.clients {
		r.Deliveries += c.delivered
		r.Latency.Merge(&c.hist)
		r.Errors += c.orderErrs + c.parseErrs
		for _, err := range []error{c.readErr, c.writeErr} {
			if err != nil {
				r.Errors++
				if r.FirstError == nil {
					r.FirstError = err
				}
			}
		}
	}
	return r
}

func (c *client) readLoop() {
	defer c.f.wg.Done()
	size := 64 << 10
	if c.f.cfg.Clients > 200 {
		size = 16 << 10
	}
	buf := make([]byte, size)
	held := 0
	fr := c.f.cfg.Framing
	for {
		n, err := c.conn.Read(buf[held:])
		now := c.f.now()
		measuring := c.f.phase.Load() == phaseMeasure
		held += n
		off := 0
		for off < held {
			k, serr := fr.Scan(buf[off:held], frameBytesMax)
			if serr != nil {
				c.parseErrs++
				return
			}
			if k == 0 {
				break
			}
			c.onFrame(buf[off:off+k], now, measuring)
			off += k
		}
		held = copy(buf, buf[off:held])
		if err != nil {
			if c.f.phase.Load() != phaseDone {
				c.readErr = err
			}
			return
		}
	}
}

func (c *client) onFrame(frame []byte, now int64, measuring bool) {
	sendNs, id, seq, ok := parseFrame(c.f.cfg.Framing, frame)
	if !ok || int(id) >= len(c.lastSeq) {
		c.parseErrs++
		return
	}
	if last := c.lastSeq[id]; last != 0 && seq != last {
		c.orderErrs++
	}
	c.lastSeq[id] = seq + 1
	if measuring {
		c.delivered++
		c.hist.Record(now - sendNs)
	}
	if id == c.id && c.window != nil {
		select {
		case c.window <- struct{}{}:
		default:
		}
	}
}

// sendFlatOut sends whenever the window has room, all available tokens in
// one write.
func (c *client) sendFlatOut() {
	defer c.f.wg.Done()
	var buf []byte
	var seq uint32
	for {
		select {
		case <-c.window:
		case <-c.f.stop:
			return
		}
		k := 1
	more:
		for k < cap(c.window) {
			select {
			case <-c.window:
				k++
			default:
				break more
			}
		}
		buf = buf[:0]
		now := c.f.now()
		for range k {
			buf = appendFrame(buf, c.f.cfg.Framing, c.f.cfg.FrameBytes, now, c.id, seq)
			seq++
		}
		if err := c.write(buf); err != nil {
			return
		}
	}
}

// sendAtRate sends one frame every interval, starting after phase. A late
// send goes out at once; the schedule does not drift.
func (c *client) sendAtRate(interval, phase time.Duration) {
	defer c.f.wg.Done()
	var buf []byte
	var seq uint32
	next := time.Now().Add(phase)
	timer := time.NewTimer(phase)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
		case <-c.f.stop:
			return
		}
		buf = appendFrame(buf[:0], c.f.cfg.Framing, c.f.cfg.FrameBytes, c.f.now(), c.id, seq)
		seq++
		if err := c.write(buf); err != nil {
			return
		}
		next = next.Add(interval)
		timer.Reset(max(time.Until(next), 0))
	}
}

func (c *client) write(b []byte) error {
	if _, err := c.conn.Write(b); err != nil {
		if c.f.phase.Load() != phaseDone && !errors.Is(err, net.ErrClosed) {
			c.writeErr = err
		}
		return err
	}
	return nil
}
