//go:build linux

package netfake_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
	"github.com/mobsim/mobsim/netpoll"
)

// The conformance suite runs the same scripted scenarios on the fake kernel
// (linux mode, epoll shape) and on real loopback TCP under netpoll (epoll),
// and requires the same transcript: every readiness batch and every syscall
// result. It then runs them on the fake in strict mode and requires the
// same syscall results and, for every batch, a subset of Linux's events.
//
// Timing on the real side: loopback delivers within the sending syscall in
// practice, but the suite does not count on it. A step that expects an
// event polls up to realWait for it and then gathers stragglers; a step
// that expects none polls for realQuiet. A read or accept that expects
// success retries on EAGAIN up to realWait. Wrong expectations only make
// the suite slower, never pass wrongly: the transcripts are compared.

const (
	realWait  = 2 * time.Second
	realQuiet = 100 * time.Millisecond
	realStray = 30 * time.Millisecond
	fillChunk = 1024
	bufBytes  = 4096 // SO_RCVBUF/SO_SNDBUF on the real side, buffer sizes on the fake
)

// kut is a kernel under test, seen through the operations the scenarios
// use. Sockets and clients are numbered in the order they were made.
type kut interface {
	listen(backlog int) error
	registerListener(tok kernel.Token) error
	connect() error // a new client (index = count so far)
	accept(expect bool) error
	register(s int, tok kernel.Token, in kernel.Interest) error
	reregister(s int, tok kernel.Token, in kernel.Interest) error
	sread(s, n int, expect bool) ([]byte, error)
	swrite(s int, p []byte) (int, error)
	scloseWrite(s int) error
	sclose(s int) error
	cwrite(c int, p []byte) (int, error)
	cread(c, n int, expect bool) ([]byte, error)
	cshutdown(c int) error
	creset(c int) error
	cclose(c int) error
	swritev(s int, bufs [][]byte) (int, error)
	// connectAsync starts a client's connect without waiting for it (a
	// full backlog drops its SYN); awaitConnect reports whether it
	// completed, waiting for it on the real side.
	connectAsync() error
	awaitConnect(c int) (bool, error)
	// connecting reports, without waiting, whether client c's connect is
	// still in progress.
	connecting(c int) bool
	// creadAll has client c read until an error (waiting for more bytes
	// while they may still come) and returns how many bytes it got.
	creadAll(c int) (int, error)
	// sameTick runs fn's calls back to back: on the fake, with no
	// transmission step between them (on loopback every call delivers
	// before it returns anyway).
	sameTick(fn func())
	// wait lets d pass: real time, or the fake's virtual clock.
	wait(d time.Duration)
	events(expect bool) map[kernel.Token]kernel.Ready
	// settleEvents discards events until none come for a while.
	settleEvents()
	// clientDrainUntilEvent has client c read everything, repeatedly, until
	// the server's poller reports an event, and returns it.
	clientDrainUntilEvent(c int) map[kernel.Token]kernel.Ready
	shutdown()
	// sabort closes server socket s with an RST (kernel.Aborter).
	sabort(s int) error
	// sunacked reads s's unacknowledged bytes (kernel.UnackedCounter);
	// with expectZero it waits, on the real side, for the count to reach
	// 0 (the peer's ACK may come late).
	sunacked(s int, expectZero bool) (int, error)
}

// ---- fake ----

type fakeKut struct {
	k       *netfake.Kernel
	l       *netfake.Listener
	clients []*netfake.Client
	socks   []*netfake.Socket
	evs     []kernel.Event
	hold    bool // inside sameTick: no transmission between calls
}

func newFakeKut(mode netfake.EdgeMode) *fakeKut {
	return &fakeKut{
		k: newKernel(1, netfake.Config{Edge: mode, RecvBufBytes: bufBytes, SendBufBytes: bufBytes,
			ClientRecvBufBytes: bufBytes, ClientSendBufBytes: bufBytes}),
		evs: make([]kernel.Event, 64),
	}
}

// settle transmits everything: loopback TCP delivers at once.
func (f *fakeKut) settle() {
	if !f.hold {
		f.k.Flush()
	}
}

func (f *fakeKut) sameTick(fn func()) {
	f.hold = true
	fn()
	f.hold = false
	f.settle()
}

func (f *fakeKut) wait(d time.Duration) {
	f.k.Advance(d)
	f.settle()
}

// connectAsync is connect: the fake's Connect never waits, and a connect
// to a full queue returns a client still connecting.
func (f *fakeKut) connectAsync() error { return f.connect() }

func (f *fakeKut) awaitConnect(c int) (bool, error) { return !f.clients[c].Connecting(), nil }

func (f *fakeKut) connecting(c int) bool { return f.clients[c].Connecting() }

func (f *fakeKut) swritev(s int, bufs [][]byte) (int, error) {
	n, err := f.socks[s].Writev(bufs)
	f.settle()
	return n, err
}

func (f *fakeKut) creadAll(c int) (int, error) {
	buf := make([]byte, fillChunk)
	total := 0
	for i := 0; i < 100000; i++ {
		n, err := f.clients[c].Read(buf)
		total += n
		if errors.Is(err, kernel.ErrWouldBlock) {
			f.settle()
			continue
		}
		if err != nil {
			return total, err
		}
	}
	return total, kernel.ErrWouldBlock
}

func (f *fakeKut) listen(backlog int) (err error) {
	f.l, err = f.k.Listen(backlog)
	return err
}
func (f *fakeKut) registerListener(tok kernel.Token) error {
	return f.k.Register(f.l, tok, kernel.InterestRead)
}
func (f *fakeKut) connect() error {
	c, err := f.k.Connect(f.l)
	if err == nil {
		f.clients = append(f.clients, c)
	}
	f.settle()
	return err
}
func (f *fakeKut) accept(bool) error {
	st, err := f.l.Accept()
	if err == nil {
		f.socks = append(f.socks, st.(*netfake.Socket))
	}
	return err
}
func (f *fakeKut) register(s int, tok kernel.Token, in kernel.Interest) error {
	return f.k.Register(f.socks[s], tok, in)
}
func (f *fakeKut) reregister(s int, tok kernel.Token, in kernel.Interest) error {
	return f.k.Reregister(f.socks[s], tok, in)
}
func (f *fakeKut) sread(s, n int, _ bool) ([]byte, error) {
	p := make([]byte, n)
	m, err := f.socks[s].Read(p)
	f.settle()
	return p[:m], err
}
func (f *fakeKut) swrite(s int, p []byte) (int, error) {
	n, err := f.socks[s].Write(p)
	f.settle()
	return n, err
}
func (f *fakeKut) scloseWrite(s int) error { defer f.settle(); return f.socks[s].CloseWrite() }
func (f *fakeKut) sclose(s int) error      { defer f.settle(); return f.socks[s].Close() }
func (f *fakeKut) cwrite(c int, p []byte) (int, error) {
	n, err := f.clients[c].Write(p)
	f.settle()
	return n, err
}
func (f *fakeKut) cread(c, n int, _ bool) ([]byte, error) {
	p := make([]byte, n)
	m, err := f.clients[c].Read(p)
	f.settle()
	return p[:m], err
}
func (f *fakeKut) cshutdown(c int) error { defer f.settle(); return f.clients[c].ShutdownWrite() }
func (f *fakeKut) creset(c int) error    { defer f.settle(); return f.clients[c].Reset() }
func (f *fakeKut) cclose(c int) error    { defer f.settle(); return f.clients[c].Close() }
func (f *fakeKut) events(bool) map[kernel.Token]kernel.Ready {
	n, err := f.k.Poll(f.evs, 0)
	if err != nil {
		panic(err)
	}
	return mergeEvents(f.evs[:n], nil)
}
func (f *fakeKut) clientDrainUntilEvent(c int) map[kernel.Token]kernel.Ready {
	buf := make([]byte, fillChunk)
	for i := 0; i < 10000; i++ {
		for {
			if _, err := f.clients[c].Read(buf); err != nil {
				break
			}
		}
		f.settle()
		if ev := f.events(true); len(ev) > 0 {
			return ev
		}
	}
	return nil
}
func (f *fakeKut) shutdown()          {}
func (f *fakeKut) sabort(s int) error { defer f.settle(); return f.socks[s].Abort() }
func (f *fakeKut) sunacked(s int, _ bool) (int, error) {
	return f.socks[s].UnackedBytes()
}
func (f *fakeKut) settleEvents() {
	f.settle()
	f.events(false)
}

// ---- real ----

type realKut struct {
	t       *testing.T
	p       *netpoll.Poller
	l       *netpoll.Listener
	clients []*netpoll.Conn
	dials   map[int]chan dialed // connects started by connectAsync, by client index
	socks   []*netpoll.Conn
	evs     []kernel.Event
}

type dialed struct {
	c   *netpoll.Conn
	err error
}

func newRealKut(t *testing.T) *realKut {
	p, err := netpoll.New()
	if err != nil {
		t.Fatalf("netpoll: %v", err)
	}
	return &realKut{t: t, p: p, evs: make([]kernel.Event, 64)}
}

// retry calls fn until it stops returning ErrWouldBlock or, when expect
// is false, at once.
func retry(expect bool, fn func() error) error {
	deadline := time.Now().Add(realWait)
	for {
		err := fn()
		if !errors.Is(err, kernel.ErrWouldBlock) || !expect || time.Now().After(deadline) {
			return err
		}
		time.Sleep(time.Millisecond)
	}
}

func (r *realKut) listen(backlog int) (err error) {
	r.l, err = netpoll.Listen("tcp4", "127.0.0.1:0", netpoll.ListenConfig{Backlog: backlog, RecvBufBytes: bufBytes, SendBufBytes: bufBytes})
	return err
}
func (r *realKut) registerListener(tok kernel.Token) error {
	return r.p.Register(r.l, tok, kernel.InterestRead)
}
func (r *realKut) dial() (*netpoll.Conn, error) {
	c, err := netpoll.DialTimeout("tcp4", r.l.Addr().String(), realWait)
	if err != nil {
		return nil, err
	}
	if err := c.SetBuffers(bufBytes, bufBytes); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}
func (r *realKut) connect() error {
	c, err := r.dial()
	if err == nil {
		r.clients = append(r.clients, c)
	}
	return err
}

// connectAsync dials in a goroutine: a connect whose SYN a full backlog
// dropped completes only when the kernel retries it, a second later.
func (r *realKut) connectAsync() error {
	if r.dials == nil {
		r.dials = map[int]chan dialed{}
	}
	ch := make(chan dialed, 1)
	r.dials[len(r.clients)] = ch
	r.clients = append(r.clients, nil)
	go func() {
		c, err := r.dial()
		ch <- dialed{c, err}
	}()
	return nil
}
func (r *realKut) connecting(c int) bool {
	ch, ok := r.dials[c]
	if !ok {
		return false
	}
	select {
	case d := <-ch:
		delete(r.dials, c)
		r.clients[c] = d.c
		return false
	default:
		return true
	}
}
func (r *realKut) awaitConnect(c int) (bool, error) {
	if ch, ok := r.dials[c]; ok {
		delete(r.dials, c)
		d := <-ch
		r.clients[c] = d.c
		return d.err == nil, d.err
	}
	return r.clients[c] != nil, nil
}
func (r *realKut) sameTick(fn func())                        { fn() }
func (r *realKut) wait(d time.Duration)                      { time.Sleep(d) }
func (r *realKut) swritev(s int, bufs [][]byte) (int, error) { return r.socks[s].Writev(bufs) }
func (r *realKut) creadAll(c int) (int, error) {
	buf := make([]byte, fillChunk)
	total := 0
	deadline := time.Now().Add(realWait)
	for {
		n, err := r.clients[c].Read(buf)
		total += n
		if errors.Is(err, kernel.ErrWouldBlock) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil {
			return total, err
		}
	}
}
func (r *realKut) accept(expect bool) error {
	return retry(expect, func() error {
		st, err := r.l.Accept()
		if err == nil {
			r.socks = append(r.socks, st.(*netpoll.Conn))
		}
		return err
	})
}
func (r *realKut) register(s int, tok kernel.Token, in kernel.Interest) error {
	return r.p.Register(r.socks[s], tok, in)
}
func (r *realKut) reregister(s int, tok kernel.Token, in kernel.Interest) error {
	return r.p.Reregister(r.socks[s], tok, in)
}
func (r *realKut) sread(s, n int, expect bool) ([]byte, error) {
	p := make([]byte, n)
	m := 0
	err := retry(expect, func() (err error) { m, err = r.socks[s].Read(p); return err })
	return p[:m], err
}
func (r *realKut) swrite(s int, p []byte) (int, error) { return r.socks[s].Write(p) }
func (r *realKut) scloseWrite(s int) error             { return r.socks[s].CloseWrite() }
func (r *realKut) sclose(s int) error                  { return r.socks[s].Close() }
func (r *realKut) cwrite(c int, p []byte) (int, error) { return r.clients[c].Write(p) }
func (r *realKut) cread(c, n int, expect bool) ([]byte, error) {
	p := make([]byte, n)
	m := 0
	err := retry(expect, func() (err error) { m, err = r.clients[c].Read(p); return err })
	return p[:m], err
}
func (r *realKut) cshutdown(c int) error { return r.clients[c].CloseWrite() }
func (r *realKut) creset(c int) error    { return r.clients[c].Abort() }
func (r *realKut) cclose(c int) error    { return r.clients[c].Close() }
func (r *realKut) sabort(s int) error    { return r.socks[s].Abort() }
func (r *realKut) sunacked(s int, expectZero bool) (int, error) {
	for deadline := time.Now().Add(realWait); ; time.Sleep(time.Millisecond) {
		n, err := r.socks[s].UnackedBytes()
		if err != nil || n == 0 || !expectZero || time.Now().After(deadline) {
			return n, err
		}
	}
}
func (r *realKut) poll(timeout time.Duration) []kernel.Event {
	n, err := r.p.Poll(r.evs, timeout)
	if err != nil {
		r.t.Fatalf("poll: %v", err)
	}
	return r.evs[:n]
}
func (r *realKut) events(expect bool) map[kernel.Token]kernel.Ready {
	wait := realQuiet
	if expect {
		wait = realWait
	}
	got := mergeEvents(r.poll(wait), nil)
	if len(got) > 0 {
		// One action can reach the socket as two wake-ups (data, then
		// FIN); the fake delivers them in one Flush. Merge stragglers.
		for evs := r.poll(realStray); len(evs) > 0; evs = r.poll(realStray) {
			got = mergeEvents(evs, got)
		}
	}
	return got
}
func (r *realKut) clientDrainUntilEvent(c int) map[kernel.Token]kernel.Ready {
	buf := make([]byte, fillChunk)
	deadline := time.Now().Add(realWait)
	for time.Now().Before(deadline) {
		for {
			if _, err := r.clients[c].Read(buf); err != nil {
				break
			}
		}
		if evs := r.poll(5 * time.Millisecond); len(evs) > 0 {
			got := mergeEvents(evs, nil)
			for evs := r.poll(realStray); len(evs) > 0; evs = r.poll(realStray) {
				got = mergeEvents(evs, got)
			}
			return got
		}
	}
	return nil
}
func (r *realKut) settleEvents() {
	for len(r.poll(4*realStray)) > 0 {
	}
}
func (r *realKut) shutdown() {
	for c := range r.dials {
		_, _ = r.awaitConnect(c)
	}
	for _, c := range r.clients {
		if c != nil {
			_ = c.Close()
		}
	}
	for _, s := range r.socks {
		_ = s.Close()
	}
	if r.l != nil {
		_ = r.l.Close()
	}
	_ = r.p.Close()
}

func mergeEvents(evs []kernel.Event, into map[kernel.Token]kernel.Ready) map[kernel.Token]kernel.Ready {
	if into == nil {
		into = map[kernel.Token]kernel.Ready{}
	}
	for _, e := range evs {
		into[e.Token] |= e.Ready
	}
	return into
}

// ---- transcripts ----

// obs is one line of a transcript: a syscall result, or a batch.
type obs struct {
	what   string
	result string                        // for syscalls
	batch  map[kernel.Token]kernel.Ready // for polls; nil otherwise
	isPoll bool
}

func (o obs) String() string {
	if !o.isPoll {
		return o.what + ": " + o.result
	}
	toks := make([]kernel.Token, 0, len(o.batch))
	for tok := range o.batch {
		toks = append(toks, tok)
	}
	slices.Sort(toks)
	var parts []string
	for _, tok := range toks {
		parts = append(parts, fmt.Sprintf("tok%d=%s", tok, o.batch[tok].String()))
	}
	if len(parts) == 0 {
		parts = append(parts, "none")
	}
	return o.what + ": " + strings.Join(parts, " ")
}

// script runs scenario steps on one kernel and keeps the transcript.
type script struct {
	k   kut
	log []obs
}

func result(n int, data []byte, err error) string {
	e := netfake.ErrnoOf(err)
	if data != nil {
		return fmt.Sprintf("%q %s", data, e)
	}
	return fmt.Sprintf("%d %s", n, e)
}

func (s *script) note(what, res string) { s.log = append(s.log, obs{what: what, result: res}) }

func (s *script) poll(what string, expect bool) {
	s.log = append(s.log, obs{what: what, batch: s.k.events(expect), isPoll: true})
}
func (s *script) drainPoll(what string, c int) {
	s.log = append(s.log, obs{what: what, batch: s.k.clientDrainUntilEvent(c), isPoll: true})
}
func (s *script) do(what string, err error) { s.note(what, result(0, nil, err)) }

// fails notes only whether the call failed: for calls whose error is the
// wrapper's own (netpoll's second Close returns net.ErrClosed, the fake
// EBADF), not the kernel's.
func (s *script) fails(what string, err error) {
	s.note(what, map[bool]string{false: "ok", true: "error"}[err != nil])
}
func (s *script) sread(what string, sock, n int, expect bool) {
	p, err := s.k.sread(sock, n, expect)
	s.note(what, result(0, p, err))
}
func (s *script) cread(what string, c, n int, expect bool) {
	p, err := s.k.cread(c, n, expect)
	s.note(what, result(0, p, err))
}
func (s *script) swrite(what string, sock int, p string) {
	n, err := s.k.swrite(sock, []byte(p))
	s.note(what, result(n, nil, err))
}
func (s *script) cwrite(what string, c int, p string) {
	n, err := s.k.cwrite(c, []byte(p))
	s.note(what, result(n, nil, err))
}

// swriteSized writes n bytes to server socket sock and notes only whether
// the write took all, some or none of them: byte counts differ (Linux
// counts skb overhead and holds more in flight).
func (s *script) swriteSized(what string, sock, n int) {
	m, err := s.k.swrite(sock, make([]byte, n))
	switch {
	case err != nil:
		s.note(what, netfake.ErrnoOf(err).String())
	case m == n:
		s.note(what, "all")
	default:
		s.note(what, "short")
	}
}

func (s *script) swritev(what string, sock int, bufs ...string) {
	b := make([][]byte, len(bufs))
	for i, x := range bufs {
		b[i] = []byte(x)
	}
	n, err := s.k.swritev(sock, b)
	s.note(what, result(n, nil, err))
}

// creadAll notes whether client c read any bytes before the error that
// ended its reading, and which error: not how many.
func (s *script) creadAll(what string, c int) {
	n, err := s.k.creadAll(c)
	got := "nothing"
	if n > 0 {
		got = "data"
	}
	s.note(what, got+", then "+netfake.ErrnoOf(err).String())
}

func (s *script) connectAsync(what string) { s.do(what, s.k.connectAsync()) }
func (s *script) awaitConnect(what string, c int) {
	ok, err := s.k.awaitConnect(c)
	s.note(what, map[bool]string{false: "in progress", true: "connected"}[ok]+" "+netfake.ErrnoOf(err).String())
}

// unacked notes whether server socket sock has bytes (or its FIN) not
// acknowledged: not how many (Linux holds more in flight).
func (s *script) unacked(what string, sock int, expectZero bool) {
	n, err := s.k.sunacked(sock, expectZero)
	got := "none"
	if n > 0 {
		got = "some"
	}
	s.note(what, got+" "+netfake.ErrnoOf(err).String())
}

// tick runs fn's steps with no transmission between them on the fake.
func (s *script) tick(fn func()) { s.k.sameTick(fn) }

func (s *script) wait(what string, d time.Duration) {
	s.k.wait(d)
	s.note(what, d.String())
}

// fill writes to server socket sock until ErrWouldBlock, then lets the
// connection settle and fills again, until a fill accepts nothing. It notes
// only that it got there: byte counts differ (Linux counts skb overhead).
//
// The settling is for Linux: its send buffer holds bytes until they are
// acknowledged, and the receiver may delay its ACK (up to ~40 ms), so space
// can free up after ErrWouldBlock without the peer reading, with a writable
// edge. The fake transmits and acknowledges in one step, which Flush has
// done before the write returns. Events during settling are not compared.
func (s *script) fill(what string, sock int) {
	chunk := make([]byte, fillChunk)
	for round := 0; round < 20; round++ {
		accepted := 0
		for i := 0; ; i++ {
			n, err := s.k.swrite(sock, chunk)
			accepted += n
			if err != nil {
				if !errors.Is(err, kernel.ErrWouldBlock) {
					s.note(what, "failed with "+netfake.ErrnoOf(err).String())
					return
				}
				break
			}
			if i == 10000 {
				s.note(what, "never blocked")
				return
			}
		}
		if round > 0 && accepted == 0 {
			s.note(what, "full, and nothing freed while settling")
			return
		}
		s.k.settleEvents()
	}
	s.note(what, "kept freeing space")
}

// pair sets up one connection: client 0, server socket 0.
func (s *script) pair() {
	s.do("listen", s.k.listen(8))
	s.do("connect", s.k.connect())
	s.do("accept", s.k.accept(true))
}

// pairRW is pair, then the socket registered for both as token 1, and the
// initial writable edge taken.
func (s *script) pairRW() {
	s.pair()
	s.do("register RW", s.k.register(0, 1, inRW))
	s.poll("after register", true)
}

// pairR is pair, then the socket registered for reading as token 1.
func (s *script) pairR() {
	s.pair()
	s.do("register R", s.k.register(0, 1, inR))
}

// ---- scenarios ----

type scenario struct {
	name string
	run  func(s *script)
}

var scenarios = []scenario{
	{"initial writable on register", func(s *script) {
		s.pairRW()
		s.poll("again", false)
		s.do("reregister W", s.k.reregister(0, 2, inW))
		s.poll("after reregister", true)
	}},
	{"readable edges", func(s *script) {
		s.pairR()
		s.poll("nothing yet", false)
		s.cwrite("client writes a", 0, "a")
		s.poll("first data", true)
		s.poll("unread data, nothing new", false)
		s.cwrite("client writes b", 0, "b")
		s.poll("new arrival on unread data", true) // Linux: an edge; strict: none
		s.sread("read", 0, 64, true)
		s.sread("read again", 0, 64, false)
		s.poll("after drain", false)
		s.cwrite("client writes c", 0, "c")
		s.poll("arrival after drain", true)
		s.sread("read", 0, 64, true)
	}},
	// Drain by short read (kernel's contract): a read that returns fewer
	// bytes than asked leaves nothing to read, so the next arrival is a
	// new edge; a read that fills its buffer promises nothing. Strict mode
	// gives the edge after the short read and withholds it after the full
	// one, as the contract has it.
	{"short read: the next arrival is an edge", func(s *script) {
		s.pairR()
		s.cwrite("client writes", 0, "abcdefgh")
		s.poll("data", true)
		s.sread("full read", 0, 4, true)
		s.poll("after a full read, nothing new", false)
		s.cwrite("client writes on unread data", 0, "ij")
		s.poll("arrival on unread data", true) // Linux: an edge; strict: none
		s.sread("short read", 0, 64, true)
		s.poll("after the short read", false)
		s.cwrite("client writes after the short read", 0, "k")
		s.poll("arrival after the short read", true)
		s.sread("short read", 0, 64, true)
		s.sread("read after the short read", 0, 64, false)
	}},
	// A short read says nothing of a FIN or an RST that came with the
	// bytes: it returns the bytes, and the FIN (or the error) is still
	// pending with no edge to come. The event that announced them carried
	// the hint (read-closed, error), which is what tells the caller to
	// read on.
	{"short read with a FIN behind it", func(s *script) {
		s.pairR()
		s.tick(func() {
			s.cwrite("client writes", 0, "bye")
			s.do("client shutdown", s.k.cshutdown(0))
		})
		s.poll("data and FIN", true)
		s.sread("short read", 0, 64, true)
		s.poll("after the short read: no edge for the FIN", false)
		s.sread("read at FIN", 0, 64, false)
	}},
	{"short read with an RST behind it", func(s *script) {
		s.pairR()
		s.tick(func() {
			s.cwrite("client writes", 0, "last")
			s.do("client resets", s.k.creset(0))
		})
		s.poll("data and RST", true)
		s.sread("short read", 0, 64, true)
		s.poll("after the short read: no edge for the RST", false)
		s.sread("read at the RST", 0, 64, false)
		s.sread("read after the error", 0, 64, false)
	}},
	{"FIN after a short read is an edge", func(s *script) {
		s.pairR()
		s.cwrite("client writes", 0, "data")
		s.poll("data", true)
		s.sread("short read", 0, 64, true)
		s.do("client shutdown", s.k.cshutdown(0))
		s.poll("FIN after the short read", true)
		s.sread("read at FIN", 0, 64, false)
	}},
	{"arrival reports writable too", func(s *script) {
		s.pairRW()
		s.cwrite("client writes", 0, "hello")
		s.poll("arrival", true) // Linux: R|W (ep_send_events reports the mask)
		s.sread("read", 0, 64, true)
	}},
	{"data before register", func(s *script) {
		s.pair()
		s.cwrite("client writes", 0, "early")
		s.sread("zero-length read", 0, 0, false)
		s.do("register R", s.k.register(0, 1, inR))
		s.poll("after register", true)
		s.do("reregister RW", s.k.reregister(0, 1, inRW))
		s.poll("after reregister", true)
		s.sread("read", 0, 64, true)
	}},
	{"FIN", func(s *script) {
		s.pairRW()
		s.cwrite("client writes", 0, "bye")
		s.do("client shutdown", s.k.cshutdown(0))
		s.poll("data and FIN", true)
		s.sread("read", 0, 64, true)
		s.sread("read at FIN", 0, 64, false)
		s.sread("read after FIN", 0, 64, false)
		s.poll("after EOF", false)
		s.swrite("write after peer FIN", 0, "reply")
		s.cread("client reads reply", 0, 64, true)
		s.do("server shutdown", s.k.scloseWrite(0))
		s.poll("both FINs", true)
		s.cread("client reads EOF", 0, 64, true)
	}},
	{"FIN with write interest only", func(s *script) {
		s.pair()
		s.do("register W", s.k.register(0, 1, inW))
		s.poll("after register", true)
		s.cwrite("client writes", 0, "x")
		s.poll("data, no read interest", false)
		s.do("client shutdown", s.k.cshutdown(0))
		s.poll("FIN", true)
	}},
	{"RST", func(s *script) {
		s.pairRW()
		s.cwrite("client writes", 0, "unread")
		s.poll("data", true)
		s.do("client resets", s.k.creset(0))
		s.poll("RST", true)
		s.sread("read", 0, 64, true)
		s.sread("read after data", 0, 64, false)
		s.sread("read after error", 0, 64, false)
		s.swrite("write", 0, "x")
		s.do("shutdown", s.k.scloseWrite(0))
		s.poll("after shutdown of a reset socket", true) // inet_shutdown always wakes
	}},
	{"RST before any read", func(s *script) {
		s.pairR()
		s.do("client resets", s.k.creset(0))
		s.poll("RST, read interest", true)
		s.swrite("write", 0, "x")
		s.swrite("write again", 0, "x")
		s.sread("read", 0, 64, false)
	}},
	{"RST after FIN", func(s *script) {
		s.pairR()
		s.do("client shutdown", s.k.cshutdown(0))
		s.poll("FIN", true)
		s.do("client resets", s.k.creset(0))
		s.poll("RST in CLOSE_WAIT", true)
		s.sread("read", 0, 64, false)
		s.swrite("write", 0, "x")
		s.swrite("write again", 0, "x")
	}},
	{"write after peer close", func(s *script) {
		s.pairRW()
		s.do("client closes", s.k.cclose(0))
		s.poll("FIN", true)
		s.swrite("first write", 0, "hello?")
		s.poll("RST back", true)
		s.swrite("second write", 0, "x")
		s.sread("read", 0, 64, false)
	}},
	{"server close with unread data", func(s *script) {
		s.pairR()
		s.swrite("server writes", 0, "sent")
		s.cwrite("client writes", 0, "unread")
		s.poll("data", true)
		s.do("server closes", s.k.sclose(0))
		s.cread("client reads", 0, 64, true)
		s.cread("client reads after data", 0, 64, true)
		s.cread("client reads after error", 0, 64, false)
		s.fails("close again", s.k.sclose(0))
	}},
	{"server half-close", func(s *script) {
		s.pairRW()
		s.do("server shutdown", s.k.scloseWrite(0))
		s.poll("our FIN acknowledged", true) // Linux: W (state change); strict: none
		s.swrite("write after shutdown", 0, "x")
		s.do("shutdown again", s.k.scloseWrite(0))
		s.cread("client reads", 0, 64, true)
		s.cwrite("client writes", 0, "still open")
		s.poll("data after our FIN", true)
		s.sread("read", 0, 64, true)
		s.do("client closes", s.k.cclose(0))
		s.poll("peer FIN: both shut", true)
	}},
	{"full send buffer", func(s *script) {
		s.pairRW()
		s.fill("fill", 0)
		s.poll("full", false)
		s.drainPoll("client drains until an event", 0)
		s.poll("after the writable edge", false)
	}},
	{"backlog", func(s *script) {
		s.do("listen", s.k.listen(8))
		s.do("register listener", s.k.registerListener(9))
		s.poll("empty queue", false)
		s.do("connect", s.k.connect())
		s.poll("one pending", true)
		s.do("connect", s.k.connect())
		s.poll("two pending", true) // Linux: an edge per connection; strict: none
		s.poll("nothing new", false)
		s.do("accept", s.k.accept(true))
		s.do("accept", s.k.accept(true))
		s.do("accept", s.k.accept(false))
		s.poll("drained", false)
		s.do("connect", s.k.connect())
		s.poll("pending after drain", true)
	}},
	{"close of a registered fd", func(s *script) {
		s.pairRW()
		s.cwrite("client writes", 0, "x")
		s.poll("data", true)
		s.do("server closes", s.k.sclose(0)) // unread data: RST
		s.poll("after close", false)
		s.cread("client sees the RST", 0, 64, true)
		s.cwrite("client writes after the RST", 0, "y")
		s.poll("still nothing", false)
	}},

	// Bytes written just before an abort reach the peer first: the write
	// put them on the wire, and the RST travels behind them.
	{"write then close with unread input, same tick", func(s *script) {
		s.pairR()
		s.cwrite("client writes", 0, "req")
		s.poll("data", true)
		s.tick(func() {
			s.swrite("server writes", 0, "line\n")
			s.do("server closes with the request unread", s.k.sclose(0))
		})
		s.cread("client reads the line", 0, 64, true)
		s.cread("client reads after the line", 0, 64, true)
		s.cread("client reads again", 0, 64, false)
	}},
	{"write, shutdown, close with unread input, same tick", func(s *script) {
		s.pairR()
		s.cwrite("client writes", 0, "req")
		s.poll("data", true)
		s.tick(func() {
			s.swrite("server writes", 0, "line\n")
			s.do("server shutdown", s.k.scloseWrite(0))
			s.do("server closes with the request unread", s.k.sclose(0))
		})
		s.cread("client reads the line", 0, 64, true)
		s.cread("client reads after the line", 0, 64, true)
		s.cwrite("client writes", 0, "more")
		s.cwrite("client writes again", 0, "more")
	}},
	{"client last words then reset, same tick", func(s *script) {
		s.pairR()
		s.poll("nothing yet", false)
		s.tick(func() {
			s.cwrite("client writes last words", 0, "last words")
			s.do("client resets", s.k.creset(0))
		})
		s.poll("data and RST", true)
		s.sread("read the last words", 0, 64, true)
		s.sread("read after them", 0, 64, false)
		s.sread("read again", 0, 64, false)
	}},
	{"client last words, FIN, reset, same tick", func(s *script) {
		s.pairRW()
		s.tick(func() {
			s.cwrite("client writes last words", 0, "bye")
			s.do("client shutdown", s.k.cshutdown(0))
			s.do("client resets", s.k.creset(0))
		})
		s.poll("data, FIN and RST", true)
		s.sread("read the last words", 0, 64, true)
		s.sread("read after them", 0, 64, false)
		s.swrite("write", 0, "x")
	}},
	// Only what the window takes goes on the wire at write time: an abort
	// drops what waits behind a closed window, not what arrived.
	{"close with unread input behind a closed window", func(s *script) {
		s.pairRW()
		s.cwrite("client writes", 0, "unread")
		s.poll("data", true)
		s.fill("fill", 0)
		s.tick(func() {
			s.swriteSized("write into the full buffers", 0, fillChunk)
			s.do("server closes with input unread", s.k.sclose(0))
		})
		s.creadAll("client reads until the reset", 0)
	}},
	{"FIN behind bytes waiting for the window", func(s *script) {
		s.pairRW()
		s.fill("fill", 0)
		s.do("server shutdown", s.k.scloseWrite(0))
		s.creadAll("client reads until the FIN", 0)
		s.poll("our FIN acknowledged", true)
	}},
	{"FIN right after data, same tick", func(s *script) {
		s.pairR()
		s.tick(func() {
			s.swrite("server writes", 0, "last")
			s.do("server shutdown", s.k.scloseWrite(0))
		})
		s.cread("client reads", 0, 64, true)
		s.cread("client reads the FIN", 0, 64, true)
		s.poll("our FIN acknowledged", true) // Linux: a state change, with no read interest satisfied
	}},
	// Transmission at write time moves bytes, not edges.
	{"a write that fits makes no writable edge", func(s *script) {
		s.pairRW()
		s.swrite("server writes", 0, "hello")
		s.poll("after the write", false)
		s.cread("client reads", 0, 64, true)
		s.poll("after the peer read", false)
	}},
	{"short write into an open window: the acknowledgement wakes", func(s *script) {
		s.pairRW()
		s.swriteSized("a big write", 0, 1<<20)
		s.poll("the bytes sent were acknowledged", true) // strict: none (no ErrWouldBlock)
		s.cread("client reads a byte", 0, 1, true)
		s.poll("after a byte was read", false)
	}},
	{"short write: no writable edge until the peer drains", func(s *script) {
		s.pairRW()
		s.fill("fill", 0)
		s.drainPoll("client drains until an event", 0)
		s.swriteSized("a big write", 0, 1<<20)
		s.poll("after the short write, the peer read nothing", false)
		s.cread("client reads a byte", 0, 1, true)
		s.poll("after a byte was read", false)
		s.drainPoll("client drains until an event", 0)
		s.poll("after the writable edge", false)
	}},
	// After both FINs crossed there is no connection left: an abort sends
	// nothing, writes fail with EPIPE, shutdown with ENOTCONN.
	{"client aborts after both FINs", func(s *script) {
		s.pairRW()
		s.do("client shutdown", s.k.cshutdown(0))
		s.poll("FIN", true)
		s.sread("read at FIN", 0, 64, false)
		s.do("server shutdown", s.k.scloseWrite(0))
		s.poll("both FINs", true)
		s.cread("client reads EOF", 0, 64, true)
		s.do("client resets", s.k.creset(0))
		s.poll("after the abort", false) // no RST: nothing to report
		s.swrite("write", 0, "x")
		s.sread("read", 0, 64, false)
		s.do("shutdown again", s.k.scloseWrite(0))
		s.poll("after shutdown", true) // inet_shutdown always wakes
	}},
	{"server closes with unread input after both FINs", func(s *script) {
		s.pairR()
		s.cwrite("client writes", 0, "unread")
		s.do("client shutdown", s.k.cshutdown(0))
		s.poll("data and FIN", true)
		s.do("server shutdown", s.k.scloseWrite(0))
		s.cread("client reads EOF", 0, 64, true)
		s.do("server closes with input unread", s.k.sclose(0))
		s.cread("client reads after the close", 0, 64, false)
		s.cwrite("client writes", 0, "x")
	}},
	{"server closes with unread input after both FINs, its own first", func(s *script) {
		s.pairR()
		s.do("server shutdown", s.k.scloseWrite(0))
		s.cread("client reads EOF", 0, 64, true)
		s.cwrite("client writes", 0, "unread")
		s.do("client shutdown", s.k.cshutdown(0))
		s.poll("data and FIN", true)
		s.do("server closes with input unread", s.k.sclose(0))
		s.cwrite("client writes", 0, "x")
		s.cread("client reads", 0, 64, false)
	}},
	{"client aborts after our FIN only", func(s *script) {
		s.pairRW()
		s.do("server shutdown", s.k.scloseWrite(0))
		s.poll("our FIN acknowledged", true)
		s.cread("client reads EOF", 0, 64, true)
		s.do("client resets", s.k.creset(0)) // CLOSE_WAIT: an RST goes out
		s.poll("RST", true)
		s.sread("read", 0, 64, false)
		s.sread("read again", 0, 64, false)
		s.swrite("write", 0, "x")
	}},
	// A full backlog drops the SYN; the client retries a second later.
	{"full backlog: the SYN is retried", func(s *script) {
		s.do("listen", s.k.listen(2))
		s.do("register listener", s.k.registerListener(9))
		for range 3 {
			s.do("connect", s.k.connect())
		}
		s.poll("three pending", true)
		s.connectAsync("connect to a full queue")
		s.poll("the SYN was dropped", false) // and so is a retry, while the queue is full
		s.do("accept", s.k.accept(true))
		// Not polled now: whether the retry (1 s after the connect) has come
		// yet is the machine's speed, not the kernel's rule (the fake's
		// dial tests check that room alone admits nothing).
		s.wait("the SYN retry", 3500*time.Millisecond)
		s.poll("the retried connect", true)
		s.do("accept", s.k.accept(true))
		s.do("accept", s.k.accept(true))
		s.do("accept the retried one", s.k.accept(true))
		s.do("accept", s.k.accept(false))
		s.awaitConnect("the client", 3)
	}},
	// Timing cannot decide it: while the queue is full a retried SYN is
	// dropped again, so the connects past it are in progress whenever
	// they are looked at; once accepts make room, the retries (1 s, then
	// 3 s after the connect) land within the wait or, at the latest, within
	// the accepts' own wait for a connection.
	{"full backlog: admits one more than the backlog", func(s *script) {
		s.do("listen", s.k.listen(2))
		for range 3 {
			s.do("connect", s.k.connect())
		}
		s.connectAsync("connect to a full queue")
		s.connectAsync("and another")
		s.note("the first past it", map[bool]string{true: "in progress", false: "connected"}[s.k.connecting(3)])
		s.note("the second past it", map[bool]string{true: "in progress", false: "connected"}[s.k.connecting(4)])
		for range 3 {
			s.do("accept", s.k.accept(true))
		}
		s.wait("the SYN retries", 3500*time.Millisecond)
		s.do("accept", s.k.accept(true))
		s.do("accept", s.k.accept(true))
		s.do("accept", s.k.accept(false))
		s.awaitConnect("the first", 3)
		s.awaitConnect("the second", 4)
	}},
	// At the seam: Writev passes at most kernel.WritevBufsMax buffers, and
	// a zero-length write is no syscall.
	{"writev of more buffers than the kernel takes", func(s *script) {
		s.pairRW()
		bufs := make([]string, kernel.WritevBufsMax+4)
		for i := range bufs {
			bufs[i] = string(rune('a' + i))
		}
		s.swritev("writev", 0, bufs...)
		s.poll("after the capped writev", false)
		s.swritev("writev the rest", 0, bufs[kernel.WritevBufsMax:]...)
		s.swritev("writev empty buffers", 0, "", "", "")
		s.cread("client reads", 0, 64, true)
	}},
	{"unacknowledged bytes: none once the client has everything and the FIN", func(s *script) {
		s.pairR()
		s.unacked("fresh", 0, true)
		s.swrite("write", 0, "hello")
		s.unacked("after the client's kernel took it", 0, true)
		s.do("server shutdown", s.k.scloseWrite(0))
		s.unacked("after the FIN arrived", 0, true)
		s.cwrite("client writes what the server never reads", 0, "unread")
		s.poll("the client's data", true)
		s.do("server closes with input unread: an RST", s.k.sclose(0))
		s.creadAll("client reads", 0) // Linux: everything, then EOF (the FIN came first)
	}},
	{"unacknowledged bytes behind a closed window, and the FIN", func(s *script) {
		s.pairRW()
		s.fill("fill", 0)
		s.unacked("window closed", 0, false)
		s.do("server shutdown", s.k.scloseWrite(0))
		s.unacked("after shutdown", 0, false)
		s.creadAll("client reads to the end", 0)
		s.unacked("after the client read everything", 0, true)
	}},
	{"abort with bytes unsent", func(s *script) {
		s.pairRW()
		s.fill("fill", 0)
		s.do("server aborts", s.k.sabort(0))
		s.creadAll("client reads", 0) // a prefix, then ECONNRESET
	}},
	{"zero-length writes keep a pending reset", func(s *script) {
		s.pairR()
		s.do("client resets", s.k.creset(0))
		s.poll("RST", true)
		s.swrite("zero-length write", 0, "")
		s.swritev("zero-length writev", 0)
		s.swritev("writev of empty buffers", 0, "", "")
		s.sread("read", 0, 64, false)
		s.sread("read again", 0, 64, false)
		s.swrite("write", 0, "x")
	}},
}

// runScenario runs sc on k and returns its transcript.
func runScenario(sc scenario, k kut) []obs {
	defer k.shutdown()
	s := &script{k: k}
	sc.run(s)
	return s.log
}

func transcript(log []obs) string {
	var b strings.Builder
	for _, o := range log {
		b.WriteString("  " + o.String() + "\n")
	}
	return b.String()
}

// TestConformanceLinux checks the fake's linux mode against the real
// kernel, scenario by scenario, transcript line by transcript line.
func TestConformanceLinux(t *testing.T) {
	if testing.Verbose() {
		defer func() {
			for _, sc := range scenarios {
				t.Logf("%s (fake, linux mode):\n%s", sc.name, transcript(runScenario(sc, newFakeKut(netfake.EdgeLinux))))
			}
		}()
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			fake := runScenario(sc, newFakeKut(netfake.EdgeLinux))
			real := runScenario(sc, newRealKut(t))
			if len(fake) != len(real) {
				t.Fatalf("transcripts differ in length\nfake:\n%sreal:\n%s", transcript(fake), transcript(real))
			}
			for i := range fake {
				if fake[i].String() != real[i].String() {
					t.Fatalf("step %d differs: fake %q, real %q\nfake:\n%sreal:\n%s",
						i, fake[i], real[i], transcript(fake), transcript(real))
				}
			}
		})
	}
}

// TestConformanceStrictSubset checks strict mode against linux mode on the
// same scenarios: the same syscall results, and every batch a subset of
// Linux's (same tokens or fewer, same bits or fewer). It also checks that
// strict really is stricter somewhere, so the comparison is not vacuous.
func TestConformanceStrictSubset(t *testing.T) {
	fewer := 0
	for _, sc := range scenarios {
		linux := runScenario(sc, newFakeKut(netfake.EdgeLinux))
		strict := runScenario(sc, newFakeKut(netfake.EdgeStrict))
		if len(linux) != len(strict) {
			t.Fatalf("%s: transcripts differ in length", sc.name)
		}
		for i := range linux {
			l, s := linux[i], strict[i]
			if !l.isPoll {
				if l.String() != s.String() {
					t.Fatalf("%s step %d: strict %q, linux %q", sc.name, i, s, l)
				}
				continue
			}
			for tok, r := range s.batch {
				if lr, ok := l.batch[tok]; !ok || r&^lr != 0 {
					t.Fatalf("%s step %d: strict %q is not a subset of linux %q\nstrict:\n%slinux:\n%s",
						sc.name, i, s, l, transcript(strict), transcript(linux))
				}
			}
			if s.String() != l.String() {
				fewer++
			}
		}
	}
	if fewer == 0 {
		t.Fatal("strict mode reported exactly what linux mode did in every batch")
	}
}

// TestConformanceScenariosSeedIndependent checks that the fake's
// transcripts do not depend on the seed (Flush draws nothing; the batch
// order is compared as a set), so the comparison with Linux is not a
// lucky draw.
func TestConformanceScenariosSeedIndependent(t *testing.T) {
	for _, sc := range scenarios {
		want := transcript(runScenario(sc, newFakeKut(netfake.EdgeLinux)))
		f := newFakeKut(netfake.EdgeLinux)
		f.k = netfake.New(rand.New(rand.NewPCG(99, 100)), f.k.Config())
		if got := transcript(runScenario(sc, f)); got != want {
			t.Fatalf("%s: seed changed the transcript:\n%s\nvs\n%s", sc.name, got, want)
		}
	}
}
