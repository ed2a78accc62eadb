package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mobsim/mobsim/internal/wire"
	"github.com/mobsim/mobsim/server"
)

// behaviour is what a client does during one connection.
type behaviour uint8

const (
	chatty      behaviour = iota // sends (now and then in bursts), reads everything
	slowReader                   // reads a few KiB at a time with pauses
	neverReader                  // sends, never reads (until the server has closed it)
	resetter                     // a few frames, half a frame, then an RST
	halfCloser                   // a few frames, half a frame, then a FIN; reads to the end
	idler                        // sends nothing, reads until the idle timeout closes it
	oversized                    // a few frames, then a header the server must refuse
	slowloris                    // sends its frames a byte at a time
	behaviourCount
)

var behaviourNames = [behaviourCount]string{
	"chatty", "slow-reader", "never-reader", "resetter", "half-closer", "idler", "oversized", "slowloris",
}

// behaviourWeights is how often each behaviour is picked, in percent.
var behaviourWeights = [behaviourCount]int{45, 8, 4, 15, 10, 5, 5, 8}

func (b behaviour) String() string { return behaviourNames[b] }

func pickBehaviour(rng *rand.Rand) behaviour {
	n := rng.IntN(100)
	for b, w := range behaviourWeights {
		if n < w {
			return behaviour(b)
		}
		n -= w
	}
	return chatty
}

// soak is one run: the clients' side.
type soak struct {
	o        options
	addr     string
	oracle   *oracle
	deadline time.Time     // churn stops
	hard     time.Time     // every socket's deadline: nothing blocks past it
	finish   chan struct{} // closed when survivors may leave
	nextID   atomic.Uint32
	wg       sync.WaitGroup

	slotsDone atomic.Int64 // slots that have returned
	parked    atomic.Int64 // survivors waiting for finish
	dialErrs  atomic.Uint64
	mu        sync.Mutex
	lastDial  error
	survivors []*clientConn
}

// slot runs connections one after another until the deadline.
func (s *soak) slot(i int) {
	defer s.wg.Done()
	defer s.slotsDone.Add(1)
	rng := rand.New(rand.NewPCG(s.o.seed, uint64(i)))
	src := sourceIP(i, s.o.sources)
	for time.Now().Before(s.deadline) {
		s.connection(rng, src, pickBehaviour(rng))
		sleepUntil(time.Now().Add(time.Duration(rng.IntN(50))*time.Millisecond), s.deadline)
	}
}

// sourceIP spreads slots over 127.0.0.1 .. 127.0.0.n.
func sourceIP(slot, n int) net.IP {
	return net.IPv4(127, 0, 0, byte(1+slot%n))
}

// sleepUntil sleeps until t, but not past limit.
func sleepUntil(t, limit time.Time) {
	if t.After(limit) {
		t = limit
	}
	if d := time.Until(t); d > 0 {
		time.Sleep(d)
	}
}

// client is one connection, driven by its slot's goroutine (the owner),
// with a reader goroutine when it reads.
type client struct {
	s          *soak
	cc         *clientConn
	conn       *net.TCPConn
	rng        *rand.Rand
	seq        uint32 // next frame's sequence number
	sent       uint32 // frames completely written
	finSent    bool
	sentBad    server.CloseReason
	reading    bool
	readerDone chan struct{}
}

// connection dials, runs one behaviour to its end, and reports.
func (s *soak) connection(rng *rand.Rand, src net.IP, b behaviour) {
	rcvBuf := 0
	if b == slowReader {
		// Linux doubles it: 128 KiB, above the loopback MSS, so the window
		// never shrinks below one segment and the server's sends are not
		// left to persist-timer probes. The slowness is the reading's.
		rcvBuf = 64 << 10
	}
	conn, err := s.dial(src, rcvBuf)
	if err != nil {
		s.dialErrs.Add(1)
		s.mu.Lock()
		s.lastDial = err
		s.mu.Unlock()
		return
	}
	cc := &clientConn{id: s.nextID.Add(1), beh: b, addr: conn.LocalAddr().String()}
	s.oracle.register(cc)
	c := &client{s: s, cc: cc, conn: conn, rng: rng, readerDone: make(chan struct{})}
	switch b {
	case chatty:
		c.chatty()
	case slowReader:
		c.slowReader()
	case neverReader:
		c.neverReader()
	case resetter:
		c.resetter()
	case halfCloser:
		c.halfCloser()
	case idler:
		c.idler()
	case oversized:
		c.oversized()
	case slowloris:
		c.slowloris()
	}
	if !c.reading {
		s.oracle.readerEnded(cc, endNone, false)
	}
	s.oracle.ownerEnded(cc, c.sent, c.finSent, c.sentBad)
}

// dial connects from src (port chosen by the kernel at connect time, so
// the port range is per destination, not per source address).
func (s *soak) dial(src net.IP, rcvBuf int) (*net.TCPConn, error) {
	return wire.Dial(s.addr, wire.DialOptions{Source: src, RcvBufBytes: rcvBuf, Timeout: 10 * time.Second, Deadline: s.hard})
}

// gap is the pause before a client's next send: exponential around the
// mean that makes -rate, capped at a second so that no sender looks idle.
func (c *client) gap() time.Duration {
	mean := float64(c.s.o.clients) / c.s.o.rate
	return min(time.Duration(c.rng.ExpFloat64()*mean*float64(time.Second)), time.Second)
}

// sendFrames writes n new frames in one stream, cut at random points when
// split, and counts those completely written.
func (c *client) sendFrames(n int, split bool) error {
	var buf []byte
	ends := make([]int, n)
	for i := range ends {
		buf = appendFrame(buf, frameKey(c.cc.id, c.seq), c.s.o.payloadMax)
		c.seq++
		ends[i] = len(buf)
	}
	first, done := c.sent, 0
	for written := 0; written < len(buf); {
		chunk := len(buf) - written
		if split {
			chunk = 1 + c.rng.IntN(min(chunk, 4096))
		}
		k, err := c.write(buf[written : written+chunk])
		written += k
		for done < n && ends[done] <= written {
			done++
		}
		c.sent = first + uint32(done)
		if err != nil {
			return err
		}
	}
	return nil
}

// write writes p to the socket and counts what the socket took, for the
// clients' account.
func (c *client) write(p []byte) (int, error) {
	k, err := c.conn.Write(p)
	c.cc.acct.sent(p[:max(k, 0)])
	return k, err
}

// sendPartial writes the header and part of the body of a frame that will
// never be finished.
func (c *client) sendPartial() error {
	f := appendFrame(nil, frameKey(c.cc.id, c.seq), c.s.o.payloadMax)
	_, err := c.write(f[:headerBytes+c.rng.IntN(len(f)-headerBytes)])
	return err
}

// chatty sends at the -rate pace, now and then a burst, for 2-20 s. At
// the end it leaves with a FIN (reading to the end), a plain close or a
// reset; if the run's deadline comes first it is a survivor, and leaves
// with a FIN once told to.
func (c *client) chatty() {
	c.startReader(false)
	end := time.Now().Add(2*time.Second + time.Duration(c.rng.Int64N(int64(18*time.Second))))
	survive := end.After(c.s.deadline)
	stop := end
	if survive {
		stop = c.s.deadline
	}
	for {
		next := time.Now().Add(c.gap())
		if next.After(stop) {
			break
		}
		if c.wait(next) {
			c.closePlain() // the server closed it
			return
		}
		n := 1
		if c.rng.IntN(20) == 0 {
			n = 10 + c.rng.IntN(30)
		}
		if err := c.sendFrames(n, c.rng.IntN(4) == 0); err != nil {
			c.closePlain()
			return
		}
	}
	if survive {
		sleepUntil(c.s.deadline, c.s.deadline)
		c.s.addSurvivor(c.cc, c.sent)
		select {
		case <-c.s.finish:
		case <-c.readerDone:
		}
		c.s.parked.Add(-1)
		c.finDrain()
		return
	}
	switch n := c.rng.IntN(10); {
	case n < 4:
		c.finDrain()
	case n < 7:
		c.closePlain()
	default:
		c.reset()
	}
}

// wait sleeps until t and reports whether the stream ended meanwhile.
func (c *client) wait(t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return false
	case <-c.readerDone:
		return true
	}
}

// slowReader reads a few KiB at a time with pauses (at a pace of its own,
// some slower than the broadcast, some not), sending at the -rate pace,
// for 1-10 s. The slowest fall behind and are closed for queue-limit. The
// others end in one of three ways: they catch up (read at full speed, then
// a FIN: the server must flush everything owed, so output it dropped or
// mangled while their socket was full shows), or reset, or close.
func (c *client) slowReader() {
	sc := c.startReader(true)
	stop := time.Now().Add(time.Second + time.Duration(c.rng.Int64N(int64(9*time.Second))))
	if stop.After(c.s.deadline) {
		stop = c.s.deadline
	}
	for {
		next := time.Now().Add(c.gap())
		if next.After(stop) || c.wait(next) {
			break
		}
		if err := c.sendFrames(1, false); err != nil {
			break
		}
	}
	switch n := c.rng.IntN(20); {
	case n < 10:
		sc.fast.Store(true)
		c.finDrain()
	case n < 17:
		c.reset()
	default:
		c.closePlain()
	}
}

// neverReader sends at the -rate pace for 2-10 s and does not read. If
// the server has closed it by then (queue-limit), it reads what it was
// sent, which must be a prefix of its window. Otherwise it either wakes up
// (reads at full speed, then a FIN: it must get everything it was owed) or
// resets.
func (c *client) neverReader() {
	stop := time.Now().Add(2*time.Second + time.Duration(c.rng.Int64N(int64(8*time.Second))))
	if stop.After(c.s.deadline) {
		stop = c.s.deadline
	}
	for {
		next := time.Now().Add(c.gap())
		if next.After(stop) {
			break
		}
		sleepUntil(next, stop)
		if err := c.sendFrames(1, false); err != nil {
			break
		}
	}
	switch {
	case c.s.oracle.serverClosed(c.cc):
		c.startReader(false)
		<-c.readerDone
		c.close()
	case c.rng.IntN(2) == 0:
		c.startReader(false)
		c.finDrain()
	default:
		c.reset()
	}
}

// resetter sends up to 5 frames and half of another, then resets.
func (c *client) resetter() {
	c.startReader(false)
	if n := c.rng.IntN(6); n > 0 && c.sendFrames(n, c.rng.IntN(2) == 0) != nil {
		c.closePlain()
		return
	}
	c.sendPartial()
	time.Sleep(time.Duration(c.rng.IntN(100)) * time.Millisecond)
	c.reset()
}

// halfCloser sends 1-5 frames and half of another, then a FIN, and reads
// to the end: the server must have read all its complete frames and must
// send it everything it was owed.
func (c *client) halfCloser() {
	c.startReader(false)
	if c.sendFrames(1+c.rng.IntN(5), c.rng.IntN(2) == 0) != nil {
		c.closePlain()
		return
	}
	c.sendPartial()
	c.finDrain()
}

// idler sends nothing and reads until the server's idle timeout closes it
// (or the run ends: then it resets).
func (c *client) idler() {
	c.startReader(false)
	timer := time.NewTimer(time.Until(c.s.deadline))
	defer timer.Stop()
	select {
	case <-c.readerDone:
		c.close()
	case <-timer.C:
		c.reset()
	}
}

// oversized sends up to 3 frames, then a header announcing more than
// -frame-bytes-max (frame-too-large) or 2^63 and more (bad-header), and
// reads the error frame and the end of stream.
func (c *client) oversized() {
	c.startReader(false)
	if n := c.rng.IntN(4); n > 0 && c.sendFrames(n, false) != nil {
		c.closePlain()
		return
	}
	size, reason := uint64(1)<<63|c.rng.Uint64(), server.ReasonBadHeader
	if c.rng.IntN(2) == 0 {
		size = uint64(c.s.o.frameBytesMax) + 1 + c.rng.Uint64N(1<<62-uint64(c.s.o.frameBytesMax))
		reason = server.ReasonFrameTooLarge
	}
	h := binary.BigEndian.AppendUint64(nil, size)
	if _, err := c.write(append(h, "0123456789abcdef"...)); err != nil {
		c.closePlain()
		return
	}
	c.sentBad = reason
	timer := time.NewTimer(time.Until(c.s.deadline))
	defer timer.Stop()
	select {
	case <-c.readerDone:
		c.close()
	case <-timer.C:
		c.reset()
	}
}

// slowloris sends 1-3 frames a byte at a time, 1-4 ms apart (without
// pauses once the run's deadline has passed), then leaves with a FIN.
func (c *client) slowloris() {
	c.startReader(false)
	for range 1 + c.rng.IntN(3) {
		f := appendFrame(nil, frameKey(c.cc.id, c.seq), c.s.o.payloadMax)
		c.seq++
		for i := range f {
			if time.Now().Before(c.s.deadline) {
				time.Sleep(time.Duration(1+c.rng.IntN(4)) * time.Millisecond)
			}
			if _, err := c.write(f[i : i+1]); err != nil {
				c.closePlain()
				return
			}
		}
		c.sent++
	}
	c.finDrain()
}

// finDrain sends a FIN, reads to the end of stream and closes.
func (c *client) finDrain() {
	if err := c.conn.CloseWrite(); err == nil {
		c.finSent = true
		c.cc.acct.Fin = true
	}
	if c.reading {
		<-c.readerDone
	}
	c.close()
}

// close closes the socket, noting first that the client closed it: a
// reader that sees the stream end before that saw the server close it.
func (c *client) close() {
	c.cc.clientClosed.Store(true)
	c.conn.Close()
}

// closePlain closes the socket (a FIN, or an RST if input is unread).
func (c *client) closePlain() {
	c.close()
	if c.reading {
		<-c.readerDone
	}
}

// reset closes with SO_LINGER 0: an RST, unsent data dropped.
func (c *client) reset() {
	c.cc.acct.Reset = true
	c.conn.SetLinger(0)
	c.close()
	if c.reading {
		<-c.readerDone
	}
}

// addSurvivor records a client still connected at the deadline, which has
// stopped sending after sent frames.
func (s *soak) addSurvivor(cc *clientConn, sent uint32) {
	s.oracle.mu.Lock()
	cc.survivor, cc.sent = true, sent
	s.oracle.mu.Unlock()
	s.mu.Lock()
	s.survivors = append(s.survivors, cc)
	s.mu.Unlock()
	s.parked.Add(1)
}

// startReader starts the reader goroutine. slow makes it read 1-4 KiB at
// a time after 2-20 ms pauses, until the returned slowConn is made fast.
func (c *client) startReader(slow bool) *slowConn {
	c.reading = true
	sc := &slowConn{c: c.conn, acct: &c.cc.acct, chunk: 1<<10 + c.rng.IntN(3<<10), pauseMax: 2 + c.rng.IntN(19)}
	sc.fast.Store(!slow)
	go c.read(wire.NewReader(sc, server.FramingMob, c.s.o.frameBytesMax))
	return sc
}

// read parses frames, checks each body against its key, and hands the
// keys to the oracle in batches.
func (c *client) read(r *wire.Reader) {
	defer close(c.readerDone)
	o, cc := c.s.oracle, c.cc
	var keys []uint64
	flush := func(errFrame string) {
		if len(keys) > 0 || errFrame != "" {
			o.received(cc, keys, errFrame)
			keys = keys[:0]
		}
	}
	body := make([]byte, 0, c.s.o.frameBytesMax)
	for {
		b, err := r.Append(body[:0])
		if err == nil {
			if bytes.HasPrefix(b, []byte("error: ")) {
				flush(string(b))
				continue
			}
			if !checkBody(b, c.s.o.payloadMax) {
				flush("")
				o.violationOf(cc, "corrupt frame: %d bytes %x...", len(b), b[:min(len(b), 16)])
				continue
			}
			keys = append(keys, binary.BigEndian.Uint64(b))
			if r.Buffered() == 0 || len(keys) >= 512 {
				flush("")
			}
			continue
		}
		flush("")
		if errors.Is(err, wire.ErrTooLarge) {
			o.violationOf(cc, "from the server: %v", err)
			o.readerEnded(cc, endPartial, false)
			return
		}
		// Read before classify: a stream that ended before the client
		// closed it was closed by the server.
		serverFirst := !cc.clientClosed.Load()
		o.readerEnded(cc, c.classify(err), serverFirst)
		return
	}
}

// classify says how a read error ended the stream.
func (c *client) classify(err error) streamEnd {
	switch {
	case errors.Is(err, io.EOF):
		return endEOF
	case errors.Is(err, wire.ErrPartial):
		return endPartial
	case errors.Is(err, net.ErrClosed):
		return endLocal
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.s.oracle.violationOf(c.cc, "read still blocked at the run's hard deadline")
		return endLocal
	}
	return endReset
}

// slowConn reads at most chunk bytes per call, each after a pause of up to
// pauseMax ms, unless fast is set. It counts what it read, for the
// clients' account.
type slowConn struct {
	c        net.Conn
	acct     *account
	chunk    int
	pauseMax int
	fast     atomic.Bool
}

func (s *slowConn) Read(p []byte) (int, error) {
	if !s.fast.Load() {
		time.Sleep(time.Duration(s.pauseMax) * time.Millisecond)
		p = p[:min(len(p), s.chunk)]
	}
	n, err := s.c.Read(p)
	s.acct.received(p[:max(n, 0)])
	return n, err
}
