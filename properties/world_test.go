package properties

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"pgregory.net/rapid"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
	"github.com/mobsim/mobsim/oracle"
	"github.com/mobsim/mobsim/server"
	"github.com/mobsim/mobsim/sim"
)

// A world is one server on one fake kernel behind a chaosPoller, a few
// scripted clients, and the oracle (package oracle) that checks the server
// against the specification of what every client is owed. The oracle is
// fed from three sources that do not trust each other: the fake kernel's
// record of the server's syscalls, the server's claims through its
// Observer, and what each client sent and received (kept here).
//
// After every step the oracle's verdict and the world's own accounting are
// checked (the server's counts against the kernel's descriptors and the
// oracle's membership). After a drain (faults and chaos off, everything
// flushed and read until the world is quiet) the oracle must find the
// history live: every member up to date both ways, nothing stuck leaving.
type world struct {
	t    *rapid.T
	wc   worldConfig
	k    *netfake.Kernel
	ln   *netfake.Listener
	poll *chaosPoller
	srv  *server.Server
	cfg  server.Config // in force, defaults filled in
	o    *oracle.Oracle
	feed sim.KernelFeed

	clients  []*client
	shutdown bool
	seq      int // frames made so far, for distinct bodies
}

// client is one scripted client.
type client struct {
	name string
	id   uint64
	cl   *netfake.Client

	out  []outFrame // frames not yet wholly written to the socket
	recv []byte     // what it read

	shut, closed, rst bool // it sent FIN / closed / reset its socket
	eof, readErr      bool // a read returned io.EOF / an error
	writeErr          bool // a write failed: its socket is finished
}

type outFrame struct {
	b   []byte
	off int // bytes written so far
}

// GoString lets rapid print a drawn client as its name.
func (c *client) GoString() string { return c.name }

// active counts the clients that have not closed their socket.
func (w *world) active() int {
	n := 0
	for _, c := range w.clients {
		if !c.closed {
			n++
		}
	}
	return n
}

func (c *client) canWrite() bool { return !c.shut && !c.closed && !c.writeErr }
func (c *client) canRead() bool  { return !c.closed && !c.eof && !c.readErr }
func (c *client) unsent() int {
	n := 0
	for _, f := range c.out {
		n += len(f.b) - f.off
	}
	return n
}

// newWorld builds the kernel, the listener, the server and its oracle. The
// chaos poller draws a plan from t for every poll until chaos is switched
// off.
func newWorld(t *rapid.T, wc worldConfig) *world {
	w := &world{t: t, wc: wc}
	w.k = netfake.New(rand.New(rand.NewPCG(wc.Seed, 0x70726f70)), wc.Kernel)
	ln, err := w.k.Listen(wc.Backlog)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	w.ln = ln
	w.poll = newChaosPoller(w.k, netfakeOpen(w.k))
	w.poll.SetLog(t.Logf, netfakeName)
	w.setChaos(true)
	claims := &sim.ClaimFeed{Note: func(id uint64, what string) { t.Logf("server: %s", what) }}
	scfg := wc.Server
	scfg.Observer = claims
	timed := &timedPoller{Poller: w.poll, k: w.k}
	var poller kernel.Poller = timed
	if wc.BatchWrites {
		poller = batchPoller{timed, w.k}
	}
	srv, err := server.New(poller, ln, scfg)
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	if err := sim.EnableBugs(srv, bugNames()); err != nil {
		t.Fatalf("bug knobs: %v", err)
	}
	w.srv = srv
	w.cfg = srv.Config()
	w.o = oracle.New(oracle.Config{Server: w.cfg, Kernel: true, Losses: true, Clock: w.k.Now})
	claims.O, w.feed.O, w.feed.K, timed.o = w.o, w.o, w.k, w.o
	w.k.SetObserver(&w.feed)
	w.k.SetTracer(w.feed.Record)
	return w
}

// timedPoller is the chaos poller as the server sees it, telling the oracle
// what each poll asked to wait (it must not sleep past a deadline the
// oracle knows of) and whether the wait was cut short (the chaos skipped
// or woke the poll, or a negative timeout returned at once): a timer that
// fires after a cut wait would have been slept through.
type timedPoller struct {
	kernel.Poller
	k *netfake.Kernel
	o *oracle.Oracle
}

// batchPoller is the poller as the server sees it in a world that offers
// the kernel's batched writes: the batch goes straight to the kernel, since
// the chaos is in the events and a batch's results are the kernel's own.
type batchPoller struct {
	kernel.Poller
	kernel.BatchWriter
}

func (p *timedPoller) Poll(events []kernel.Event, timeout time.Duration) (int, error) {
	p.o.PollWaits(timeout)
	start := p.k.Now()
	n, err := p.Poller.Poll(events, timeout)
	waited := p.k.Now() - start
	p.o.Polled(timeout, n, n == 0 && (timeout < 0 || waited < timeout))
	return n, err
}

func (w *world) setChaos(on bool) {
	if on {
		gen := chaosGen()
		w.poll.SetPlan(func() chaosPlan { return gen.Draw(w.t, "batch plan") })
	} else {
		w.poll.SetPlan(nil)
	}
}

// --- client actions ---

// connect opens a new client; false if the backlog refused it. A connect
// that a full backlog leaves in progress (its SYN retried a virtual second
// later) is given up at once, so it never reaches the server: the world's
// drain does not wait for retries.
func (w *world) connect() (*client, bool) {
	cl, err := w.k.Connect(w.ln)
	if err == nil && cl.Connecting() {
		_ = cl.Close()
		err = errors.New("the backlog is full; the client gives up its connect in progress")
	}
	if err != nil {
		w.t.Logf("a client's connect is refused: %v", err)
		return nil, false
	}
	c := &client{name: fmt.Sprintf("c%d", cl.ID()), id: cl.ID(), cl: cl}
	w.clients = append(w.clients, c)
	w.o.ClientConnected(c.id, c.name)
	w.t.Logf("%s connects", c.name)
	return c, true
}

// body makes a frame body of n bytes that names its sender and sequence
// number, so a misdelivery reads plainly in a failure.
func (w *world) body(c *client, n int) []byte {
	w.seq++
	tag := fmt.Sprintf("%s#%d:", c.name, w.seq)
	b := make([]byte, n)
	for i := range b {
		if i < len(tag) {
			b[i] = tag[i]
		} else {
			b[i] = byte('a' + w.seq%26)
		}
	}
	return b
}

// queue adds a frame to c's outbox.
func (w *world) queue(c *client, frame []byte) {
	c.out = append(c.out, outFrame{b: frame})
}

// badFrame makes a frame the server must refuse: kind 0 is a body one to
// over+1 bytes over the limit; kind 1 (mob only) a header with bit 63 set.
func (w *world) badFrame(kind, over int) ([]byte, string) {
	size := w.cfg.FrameBytesMax + 1 + over
	if w.cfg.Framing == server.FramingLine {
		return append(bytes.Repeat([]byte{'X'}, size), '\n'), fmt.Sprintf("a %d-byte line", size)
	}
	var h [server.MobHeaderBytes]byte
	if kind == 1 {
		binary.BigEndian.PutUint64(h[:], 1<<63|uint64(over))
		return append(h[:], "XYZ"...), "a mob header with bit 63 set"
	}
	binary.BigEndian.PutUint64(h[:], uint64(size))
	return append(h[:], bytes.Repeat([]byte{'X'}, min(size, 20))...), fmt.Sprintf("a mob header announcing %d bytes", size)
}

// pump writes up to limit bytes of c's outbox, as far as its socket takes
// them, and returns how many it wrote.
func (w *world) pump(c *client, limit int) int {
	total := 0
	for limit > 0 && len(c.out) > 0 && c.canWrite() {
		f := &c.out[0]
		p := f.b[f.off:min(len(f.b), f.off+limit)]
		n, err := c.cl.Write(p)
		if n > 0 {
			w.o.ClientSent(c.id, p[:n])
		}
		f.off += n
		limit -= n
		total += n
		if f.off == len(f.b) {
			c.out = c.out[1:]
		}
		if errors.Is(err, kernel.ErrWouldBlock) {
			break
		}
		if err != nil {
			// Its reads say how its stream ended: what arrived before
			// the reset is still there to read.
			c.writeErr = true
			w.t.Logf("%s: write fails: %v", c.name, err)
		}
	}
	return total
}

// read reads up to limit bytes into c.recv.
func (w *world) read(c *client, limit int) int {
	var buf [512]byte
	total := 0
	for limit > 0 && c.canRead() {
		n, err := c.cl.Read(buf[:min(len(buf), limit)])
		c.recv = append(c.recv, buf[:n]...)
		if n > 0 {
			w.o.ClientReceived(c.id, buf[:n])
		}
		limit -= n
		total += n
		switch {
		case err == nil:
		case errors.Is(err, kernel.ErrWouldBlock):
			return total
		case errors.Is(err, io.EOF):
			c.eof = true
			w.o.ClientEnded(c.id, oracle.EndEOF)
			w.t.Logf("%s: reads EOF", c.name)
		default:
			c.readErr = true
			w.o.ClientEnded(c.id, oracle.EndReset)
			w.t.Logf("%s: read fails: %v", c.name, err)
		}
	}
	return total
}

func (w *world) fin(c *client) {
	w.pump(c, 1<<30) // finish the message if the socket takes it
	dropped := c.unsent()
	c.out = nil
	c.shut = true
	if err := c.cl.ShutdownWrite(); err != nil {
		w.t.Logf("%s: shutdown fails: %v", c.name, err)
	}
	w.t.Logf("%s sends FIN (drops %d unwritten bytes)", c.name, dropped)
}

func (w *world) reset(c *client) {
	c.out = nil
	c.closed, c.rst = true, true
	w.o.ClientGone(c.id, true)
	if err := c.cl.Reset(); err != nil {
		w.t.Logf("%s: reset fails: %v", c.name, err)
	}
	w.t.Logf("%s resets its connection", c.name)
}

func (w *world) close(c *client) {
	w.pump(c, 1<<30)
	unread := c.cl.Pending()
	c.out = nil
	c.closed = true
	w.o.ClientGone(c.id, false)
	if err := c.cl.Close(); err != nil {
		w.t.Logf("%s: close fails: %v", c.name, err)
	}
	w.t.Logf("%s closes (%d bytes unread)", c.name, unread)
}
