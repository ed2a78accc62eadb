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
	"github.com/mobsim/mobsim/server"
	"github.com/mobsim/mobsim/sim"
)

// A world is one server on one fake kernel behind a ChaosPoller, a few
// scripted clients, and the plain model the properties check the server
// against. The model is built from two sources that do not trust each other:
// what each client completed writing (kept here), and what the server claims
// through its Observer (each frame it read, each join, leave and close),
// checked against the kernel's own record of the connection.
//
// The model's rules:
//   - Every frame the server reports reading from c is the next frame c
//     completed writing (no loss, no invention, no reordering per sender),
//     and c is a member when it is read.
//   - The server's frames form one global log, `all`. A connection that
//     joined at offset j is owed all[j:] while a member, all[j:leave] once it
//     left, then one "error: ..." frame if it left over a protocol error. What
//     the server wrote to it, and what it received, is always a prefix of that.
//   - Leaves and closes are justified: reset or write-error only when the
//     kernel saw a reset; eof only after the peer's FIN, with nothing left
//     unread; conns-limit only with ConnsMax connections open; queue-limit
//     only when the connection pins more than QueueBytesMax of the log; idle,
//     linger-timeout and shutdown-timeout only once their time has passed;
//     anything but reset, write-error and queue-limit only after leaving.
//   - The server's counts agree with the kernel: connections open equals the
//     kernel's open accepted descriptors, every descriptor is registered.
//
// After a drain (faults and chaos off, everything flushed and read until the
// world is quiet) the prefixes must be whole for every connection nothing
// reset: members, and connections the server let go gracefully.
type world struct {
	t    *rapid.T
	wc   worldConfig
	k    *netfake.Kernel
	ln   *netfake.Listener
	poll *ChaosPoller
	srv  *server.Server
	cfg  server.Config // in force, defaults filled in

	clients []*client
	byID    []*client // by kernel connection id - 1: every connection is a client's

	all      []byte // every frame the server reported, in read order
	frames   int
	open     int // joined and not yet closed
	members  int // joined and not yet left or closed
	shutdown bool
	downAt   time.Duration // when the shutdown began
	bad      string        // the first violation seen inside a callback
	seq      int           // frames made so far, for distinct bodies
	reject   []byte        // what a connection turned away at ConnsMax is sent
}

// client is one scripted client and what the model knows of it.
type client struct {
	name string
	id   uint64
	cl   *netfake.Client

	out      []outFrame // frames not yet wholly written to the socket
	sent     [][]byte   // well-formed frames wholly written, in order
	poisoned bool       // wrote a malformed frame: nothing after it counts
	recv     []byte     // what it read
	reported int        // frames of sent the server reported reading

	shut, closed, rst bool // it sent FIN / closed / reset its socket
	eof, readErr      bool // a read returned io.EOF / an error
	writeErr          bool // a write failed: its socket is finished

	// What the server and the kernel said about it.
	accepted, joined, left, closedSrv, rejected bool
	join, leave                                 int // offsets in world.all
	leftWhy, closedWhy                          server.CloseReason
	wrote                                       []byte // what the server wrote to it
	serverFIN                                   bool   // the server shut its write side
	kernelReset                                 bool   // the kernel reported a reset on the server side
	lastRead, leftAt                            time.Duration
}

type outFrame struct {
	b    []byte
	off  int  // bytes written so far
	good bool // well-formed and within limits
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

// newWorld builds the kernel, the listener and the server. The chaos poller
// draws a plan from t for every poll until chaos is switched off.
func newWorld(t *rapid.T, wc worldConfig) *world {
	w := &world{t: t, wc: wc}
	w.k = netfake.New(rand.New(rand.NewPCG(wc.Seed, 0x70726f70)), wc.Kernel)
	ln, err := w.k.Listen(wc.Backlog)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	w.ln = ln
	w.poll = NewChaosPoller(w.k, NetfakeOpen(w.k))
	w.poll.SetLog(t.Logf, NetfakeName)
	w.setChaos(true)
	w.k.SetObserver(kernelObserver{w})
	scfg := wc.Server
	scfg.Observer = serverObserver{w}
	srv, err := server.New(w.poll, ln, scfg)
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	if err := sim.EnableBugs(srv, bugNames()); err != nil {
		t.Fatalf("bug knobs: %v", err)
	}
	w.srv = srv
	w.cfg = srv.Config()
	w.reject = w.cfg.Framing.Encode(nil, fmt.Appendf(nil, "error: server full (%d connections)", w.cfg.ConnsMax))
	return w
}

func (w *world) setChaos(on bool) {
	if on {
		gen := chaosGen()
		w.poll.SetPlan(func() Chaos { return gen.Draw(w.t, "batch plan") })
	} else {
		w.poll.SetPlan(nil)
	}
}

func (w *world) fail(format string, args ...any) {
	if w.bad == "" {
		w.bad = fmt.Sprintf(format, args...)
	}
}

func (w *world) clientOf(st kernel.Stream) *client {
	s, ok := st.(*netfake.Socket)
	if !ok || s.ID() == 0 || s.ID() > uint64(len(w.byID)) {
		return nil
	}
	return w.byID[s.ID()-1]
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
		w.byID = append(w.byID, nil)
		err = errors.New("the backlog is full; the client gives up its connect in progress")
	}
	if err != nil {
		w.t.Logf("a client's connect is refused: %v", err)
		return nil, false
	}
	c := &client{name: fmt.Sprintf("c%d", cl.ID()), id: cl.ID(), cl: cl}
	if c.id != uint64(len(w.byID))+1 {
		w.t.Fatalf("kernel gave connection id %d, want %d", c.id, len(w.byID)+1)
	}
	w.clients = append(w.clients, c)
	w.byID = append(w.byID, c)
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
func (w *world) queue(c *client, frame []byte, good bool) {
	c.out = append(c.out, outFrame{b: frame, good: good})
}

// badFrame makes a frame the server must refuse: kind 0 is a body one to
// extra+1 bytes over the limit; kind 1 (mob only) a header with bit 63 set.
func (w *world) badFrame(kind, extra int) ([]byte, string) {
	size := w.cfg.FrameBytesMax + 1 + extra
	if w.cfg.Framing == server.FramingLine {
		return append(bytes.Repeat([]byte{'X'}, size), '\n'), fmt.Sprintf("a %d-byte line", size)
	}
	var h [server.MobHeaderBytes]byte
	if kind == 1 {
		binary.BigEndian.PutUint64(h[:], 1<<63|uint64(extra))
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
		n, err := c.cl.Write(f.b[f.off:min(len(f.b), f.off+limit)])
		f.off += n
		limit -= n
		total += n
		if n > 0 && !f.good {
			// The server may refuse it from its first bytes on.
			c.poisoned = true
		}
		if f.off == len(f.b) {
			if f.good && !c.poisoned {
				c.sent = append(c.sent, f.b)
			}
			c.out = c.out[1:]
		}
		if errors.Is(err, kernel.ErrWouldBlock) {
			break
		}
		if err != nil {
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
		limit -= n
		total += n
		switch {
		case err == nil:
		case errors.Is(err, kernel.ErrWouldBlock):
			return total
		case errors.Is(err, io.EOF):
			c.eof = true
			w.t.Logf("%s: reads EOF", c.name)
		default:
			c.readErr = true
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
	if err := c.cl.Close(); err != nil {
		w.t.Logf("%s: close fails: %v", c.name, err)
	}
	w.t.Logf("%s closes (%d bytes unread)", c.name, unread)
}
