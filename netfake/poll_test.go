package netfake_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
)

const (
	rd = kernel.ReadyRead
	wr = kernel.ReadyWrite
	rc = kernel.ReadyReadClosed
	wc = kernel.ReadyWriteClosed
	er = kernel.ReadyError

	inR  = kernel.InterestRead
	inW  = kernel.InterestWrite
	inRW = kernel.InterestRead | kernel.InterestWrite
)

var modes = []netfake.EdgeMode{netfake.EdgeStrict, netfake.EdgeLinux}

// expectEvent polls once and checks the readiness reported for tok (0 means
// "no event for tok").
func expectEvent(t *testing.T, k *netfake.Kernel, tok kernel.Token, want kernel.Ready, what string) {
	t.Helper()
	got, _ := merged(poll(t, k), tok)
	if got != want {
		t.Fatalf("%s: token %d got %s, want %s", what, tok, rs(got), rs(want))
	}
}

func rs(r kernel.Ready) string { return r.String() }

// TestInitialWritableEdge checks the contract's one unconditional edge:
// registering or reregistering with write interest reports writable, in
// both modes, once.
func TestInitialWritableEdge(t *testing.T) {
	for _, m := range modes {
		t.Run(m.String(), func(t *testing.T) {
			k := newKernel(1, netfake.Config{Edge: m})
			_, _, s := pair(t, k)
			if err := k.Register(s, 7, inRW); err != nil {
				t.Fatal(err)
			}
			expectEvent(t, k, 7, wr, "register")
			expectEvent(t, k, 7, 0, "second poll")
			if err := k.Reregister(s, 8, inW); err != nil {
				t.Fatal(err)
			}
			expectEvent(t, k, 8, wr, "reregister")
			if err := k.Reregister(s, 9, inR); err != nil {
				t.Fatal(err)
			}
			expectEvent(t, k, 9, 0, "reregister without write interest")
		})
	}
}

// TestReadableEdges checks the readable edges of both modes: the first
// arrival gives one; nothing while the data stays unread; a new arrival on
// a non-empty buffer gives one on Linux only; after a drain, one again.
// Data already there at registration is reported in both modes.
func TestReadableEdges(t *testing.T) {
	for _, m := range modes {
		t.Run(m.String(), func(t *testing.T) {
			linux := m == netfake.EdgeLinux
			k := newKernel(2, netfake.Config{Edge: m})
			_, c, s := pair(t, k)
			_, _ = c.Write([]byte("early"))
			k.Flush()
			_ = k.Register(s, 1, inR)
			expectEvent(t, k, 1, rd, "data before register")
			_, _ = readAll(s)
			_, _ = c.Write([]byte("a"))
			k.Flush()
			expectEvent(t, k, 1, rd, "first arrival")
			expectEvent(t, k, 1, 0, "nothing new")
			_, _ = c.Write([]byte("b"))
			k.Flush()
			expectEvent(t, k, 1, map[bool]kernel.Ready{false: 0, true: rd}[linux], "arrival on unread data")
			got, _ := readAll(s)
			if string(got) != "ab" {
				t.Fatalf("read %q", got)
			}
			expectEvent(t, k, 1, 0, "after drain")
			_, _ = c.Write([]byte("c"))
			k.Flush()
			expectEvent(t, k, 1, rd, "arrival after drain")
		})
	}
}

// TestShortReadEdges checks the drain-by-short-read clause in both modes
// and both batch shapes: after a read that returned fewer bytes than
// asked, the next arrival is an edge; after a read that filled its buffer,
// strict mode gives none for an arrival behind the bytes left (the data
// a server that stops there strands); a FIN or RST that came with the
// bytes is pending after the short read with no edge of its own, and the
// event that reported the bytes carried its hint.
func TestShortReadEdges(t *testing.T) {
	for _, m := range modes {
		for _, b := range []netfake.BatchShape{netfake.BatchEpoll, netfake.BatchKqueue} {
			t.Run(m.String()+"/"+b.String(), func(t *testing.T) {
				linux := m == netfake.EdgeLinux
				k := newKernel(3, netfake.Config{Edge: m, Batch: b})
				_, c, s := pair(t, k)
				_ = k.Register(s, 1, inR)
				send := func(p string) {
					t.Helper()
					if _, err := c.Write([]byte(p)); err != nil {
						t.Fatal(err)
					}
					k.Flush()
				}
				read := func(n int, want string) {
					t.Helper()
					p := make([]byte, n)
					got, err := s.Read(p)
					if err != nil || string(p[:got]) != want {
						t.Fatalf("Read(%d) = %q, %v; want %q", n, p[:got], err, want)
					}
				}
				send("abcdefgh")
				expectEvent(t, k, 1, rd, "first arrival")
				read(4, "abcd") // full: bytes remain
				send("ij")
				expectEvent(t, k, 1, map[bool]kernel.Ready{false: 0, true: rd}[linux], "arrival behind a full read")
				read(64, "efghij") // short: nothing remains
				expectEvent(t, k, 1, 0, "after the short read")
				send("k")
				expectEvent(t, k, 1, rd, "arrival after the short read")
				read(2, "k")
				send("l")
				expectEvent(t, k, 1, rd, "arrival after a short read cut to a budget")
				read(1, "l")

				// Data and FIN together: the event carries the hint, the
				// short read returns the data, and the FIN waits with no
				// edge for it.
				_, _ = c.Write([]byte("bye"))
				_ = c.ShutdownWrite()
				k.Flush()
				got, _ := merged(poll(t, k), 1)
				if got&rd == 0 || got&rc == 0 {
					t.Fatalf("data and FIN: %s; want readable with the read-closed hint", rs(got))
				}
				read(64, "bye")
				expectEvent(t, k, 1, 0, "after the short read, FIN pending")
				if n, err := s.Read(make([]byte, 64)); n != 0 || err != io.EOF {
					t.Fatalf("read at the FIN = %d, %v; want io.EOF", n, err)
				}
			})
		}
	}
}

// TestShortReadFault checks that a short read the fault plan makes, which
// leaves bytes behind, announces them with a readable edge: the caller
// may stop at a short read, so the fault must not strand what it left.
func TestShortReadFault(t *testing.T) {
	for _, m := range modes {
		t.Run(m.String(), func(t *testing.T) {
			k := newKernel(4, netfake.Config{Edge: m})
			_, c, s := pair(t, k)
			_ = k.Register(s, 1, inR)
			_, _ = c.Write([]byte("0123456789"))
			k.Flush()
			expectEvent(t, k, 1, rd, "arrival")
			k.SetFaults(netfake.FaultPlan{ShortRead: 1})
			var got []byte
			for range 20 {
				p := make([]byte, 64)
				n, err := s.Read(p)
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				got = append(got, p[:n]...)
				if len(got) == 10 {
					break
				}
				expectEvent(t, k, 1, rd, fmt.Sprintf("after a faulted short read of %d bytes (%d left)", n, 10-len(got)))
			}
			if string(got) != "0123456789" || k.FaultCount(netfake.FaultShortRead) == 0 {
				t.Fatalf("read %q with %d short-read faults", got, k.FaultCount(netfake.FaultShortRead))
			}
		})
	}
}

// TestStrictNoInitialRead checks the option for the contract's letter:
// strict mode then reports neither data nor a pending connection that was
// there before registration, but still the initial writable edge.
func TestStrictNoInitialRead(t *testing.T) {
	k := newKernel(2, netfake.Config{StrictNoInitialRead: true})
	l, c, s := pair(t, k)
	_, _ = c.Write([]byte("early"))
	_, _ = k.Connect(l)
	k.Flush()
	_ = k.Register(s, 1, inRW)
	_ = k.Register(l, 2, inR)
	evs := poll(t, k)
	if r, _ := merged(evs, 1); r != wr {
		t.Fatalf("socket: %s, want only the writable edge", rs(r))
	}
	if _, ok := merged(evs, 2); ok {
		t.Fatal("listener reported a connection that was queued before registration")
	}
	_, _ = c.Write([]byte("late"))
	k.Flush()
	expectEvent(t, k, 1, 0, "arrival on unread data")
}

// TestLinuxArrivalCarriesWritable checks what epoll does on Linux with read
// and write interest: a data arrival reports the whole current mask, so a
// writable socket says writable too. Strict mode reports only the read edge.
func TestLinuxArrivalCarriesWritable(t *testing.T) {
	for _, m := range modes {
		k := newKernel(3, netfake.Config{Edge: m})
		_, c, s := pair(t, k)
		_ = k.Register(s, 1, inRW)
		poll(t, k)
		_, _ = c.Write([]byte("x"))
		k.Flush()
		want := rd
		if m == netfake.EdgeLinux {
			want = rd | wr
		}
		expectEvent(t, k, 1, want, m.String()+" arrival")
	}
}

// TestWritableEdgeAfterWouldBlock checks the contract's writable guarantee
// and Linux's thresholds: after ErrWouldBlock, no edge while the send
// buffer (bytes queued plus bytes on the wire, unacknowledged) is still
// more than two thirds full, none while the peer's window stays closed
// (less than half its buffer free), one edge once enough is acknowledged,
// and none again without another ErrWouldBlock.
func TestWritableEdgeAfterWouldBlock(t *testing.T) {
	for _, m := range modes {
		t.Run(m.String(), func(t *testing.T) {
			k := newKernel(4, netfake.Config{Edge: m, SendBufBytes: 90, ClientRecvBufBytes: 20})
			_, c, s := pair(t, k)
			_ = k.Register(s, 1, inW)
			expectEvent(t, k, 1, wr, "register")
			if n, err := s.Write(make([]byte, 120)); n != 90 || err != nil {
				t.Fatalf("write: %d, %v; want 90 (20 on the wire, 70 queued)", n, err)
			}
			if _, err := s.Write([]byte("x")); err != kernel.ErrWouldBlock {
				t.Fatalf("write on full buffer: %v", err)
			}
			k.Flush()
			expectEvent(t, k, 1, 0, "20 acknowledged: 70 queued, 20 free")
			clientReads(t, c, 9)
			k.Flush()
			expectEvent(t, k, 1, 0, "the peer read 9: its window is still closed")
			clientReads(t, c, 1)
			k.Flush()
			expectEvent(t, k, 1, wr, "the window opened, 10 more acknowledged: 60 queued, 30 free")
			clientReads(t, c, 20)
			k.Flush()
			expectEvent(t, k, 1, 0, "more room, no new ErrWouldBlock")
		})
	}
}

// clientReads has c read exactly n bytes, failing if fewer are there.
func clientReads(t *testing.T, c *netfake.Client, n int) {
	t.Helper()
	if got, err := c.Read(make([]byte, n)); got != n {
		t.Fatalf("client read %d of %d bytes: %v", got, n, err)
	}
}

// TestShortWriteEdge checks the write side of both modes after a short
// write. Linux arms the writable edge when tcp_sendmsg stops short
// (SOCK_NOSPACE), and it fires when an acknowledgement frees enough room:
// at once if the bytes fit in the peer's window (they arrive), only after
// the peer reads if its window is closed. Strict mode arms nothing, as the
// contract says. A short write that the fault plan made, on a socket with
// room, arms nothing in either mode.
func TestShortWriteEdge(t *testing.T) {
	for _, m := range modes {
		linux := kernel.Ready(0)
		if m == netfake.EdgeLinux {
			linux = wr
		}
		k := newKernel(5, netfake.Config{Edge: m, SendBufBytes: 10, ClientRecvBufBytes: 10})
		_, c, s := pair(t, k)
		_ = k.Register(s, 1, inW)
		poll(t, k)
		if n, _ := s.Write(make([]byte, 25)); n != 10 {
			t.Fatalf("short write took %d", n)
		}
		k.Flush()
		expectEvent(t, k, 1, linux, m.String()+" after a short write whose bytes were acknowledged")
		if n, _ := s.Write(make([]byte, 25)); n != 10 {
			t.Fatalf("short write into a closed window took %d", n)
		}
		k.Flush()
		expectEvent(t, k, 1, 0, m.String()+" after a short write, the peer's window closed")
		_, _ = readAll(c)
		k.Flush()
		expectEvent(t, k, 1, linux, m.String()+" after a short write and a drain")

		_, _ = readAll(c)
		k.Flush()
		k.SetFaults(netfake.FaultPlan{ShortWrite: 1})
		if n, _ := s.Write(make([]byte, 5)); n >= 5 {
			t.Fatalf("the fault plan's short write took %d of 5", n)
		}
		k.SetFaults(netfake.FaultPlan{})
		_, _ = readAll(c)
		k.Flush()
		expectEvent(t, k, 1, 0, m.String()+" after an injected short write")
	}
}

// TestFINAndRSTEvents checks the hints: a FIN gives read-closed (with
// readable on Linux, where EPOLLIN comes with EPOLLRDHUP), an RST gives
// error and both closed (plus readable and writable on Linux).
func TestFINAndRSTEvents(t *testing.T) {
	for _, m := range modes {
		t.Run(m.String(), func(t *testing.T) {
			linux := m == netfake.EdgeLinux
			k := newKernel(6, netfake.Config{Edge: m})
			l, c, s := pair(t, k)
			_ = k.Register(s, 1, inRW)
			poll(t, k)
			_ = c.ShutdownWrite()
			k.Flush()
			want := rc
			if linux {
				want = rd | wr | rc
			}
			expectEvent(t, k, 1, want, "FIN")
			c2, s2 := connectAccept(t, k, l)
			_ = k.Register(s2, 2, inRW)
			poll(t, k)
			_ = c2.Reset()
			k.Flush()
			want = er | rc | wc
			if linux {
				want |= rd | wr
			}
			expectEvent(t, k, 2, want, "RST")
		})
	}
}

// TestListenerEdges checks accept readiness: strict gives one edge when the
// queue becomes non-empty, Linux one per connection; both report a queue
// that stays non-empty only once.
func TestListenerEdges(t *testing.T) {
	for _, m := range modes {
		k := newKernel(7, netfake.Config{Edge: m})
		l, err := k.Listen(8)
		if err != nil {
			t.Fatal(err)
		}
		_ = k.Register(l, 100, inR)
		expectEvent(t, k, 100, 0, "empty queue")
		_, _ = k.Connect(l)
		expectEvent(t, k, 100, rd, "first connection")
		_, _ = k.Connect(l)
		want := kernel.Ready(0)
		if m == netfake.EdgeLinux {
			want = rd
		}
		expectEvent(t, k, 100, want, m.String()+" second connection")
		if l.Pending() != 2 {
			t.Fatalf("pending %d", l.Pending())
		}
	}
}

// TestKqueueShape checks that the kqueue shape reports read and write
// readiness as two events with the same token, and epoll as one.
func TestKqueueShape(t *testing.T) {
	for _, shape := range []netfake.BatchShape{netfake.BatchEpoll, netfake.BatchKqueue} {
		k := newKernel(8, netfake.Config{Edge: netfake.EdgeLinux, Batch: shape})
		_, c, s := pair(t, k)
		_, _ = c.Write([]byte("x"))
		k.Flush()
		_ = k.Register(s, 5, inRW)
		evs := poll(t, k)
		var kinds []kernel.Ready
		for _, e := range evs {
			if e.Token == 5 {
				kinds = append(kinds, e.Ready)
			}
		}
		slices.Sort(kinds)
		want := []kernel.Ready{rd | wr}
		if shape == netfake.BatchKqueue {
			want = []kernel.Ready{rd, wr}
		}
		if !slices.Equal(kinds, want) {
			t.Fatalf("%s: events for the token %v, want %v", shape, kinds, want)
		}
	}
}

// TestCloseRemovesRegistration checks that Close drops the registration and
// any edge it had pending, and that the registration count and fd count
// come back down.
func TestCloseRemovesRegistration(t *testing.T) {
	k := newKernel(9, netfake.Config{Edge: netfake.EdgeLinux})
	_, c, s := pair(t, k)
	_ = k.Register(s, 1, inRW)
	if k.Registrations() != 1 || k.OpenFDs() != 2 {
		t.Fatalf("registrations %d, fds %d", k.Registrations(), k.OpenFDs())
	}
	_, _ = c.Write([]byte("x"))
	k.Flush()
	if k.PendingEdges() != 1 {
		t.Fatalf("pending edges %d, want 1", k.PendingEdges())
	}
	_ = s.Close()
	if k.Registrations() != 0 || k.OpenFDs() != 1 {
		t.Fatalf("after close: registrations %d, fds %d", k.Registrations(), k.OpenFDs())
	}
	if evs := poll(t, k); len(evs) != 0 {
		t.Fatalf("events after close: %v", evs)
	}
	if err := k.Deregister(s); !isErrno(err, syscall.EBADF) {
		t.Fatalf("deregister after close: %v", err)
	}
}

// TestRegisterErrors checks epoll_ctl's errors: EEXIST, ENOENT, and EINVAL
// for a source from elsewhere.
func TestRegisterErrors(t *testing.T) {
	k := newKernel(10, netfake.Config{})
	other := newKernel(10, netfake.Config{})
	_, _, s := pair(t, k)
	_, _, foreign := pair(t, other)
	if err := k.Reregister(s, 1, inR); !isErrno(err, syscall.ENOENT) {
		t.Fatalf("reregister unregistered: %v", err)
	}
	if err := k.Deregister(s); !isErrno(err, syscall.ENOENT) {
		t.Fatalf("deregister unregistered: %v", err)
	}
	_ = k.Register(s, 1, inR)
	if err := k.Register(s, 1, inR); !isErrno(err, syscall.EEXIST) {
		t.Fatalf("register twice: %v", err)
	}
	if err := k.Register(foreign, 1, inR); !isErrno(err, syscall.EINVAL) {
		t.Fatalf("register foreign: %v", err)
	}
	if err := k.Deregister(s); err != nil || k.Registrations() != 0 {
		t.Fatalf("deregister: %v, %d left", err, k.Registrations())
	}
}

// TestPollBatchLimit checks that Poll returns at most len(events) and keeps
// the rest for the next call, each edge reported exactly once.
func TestPollBatchLimit(t *testing.T) {
	k := newKernel(11, netfake.Config{})
	l, _ := k.Listen(16)
	for i := 0; i < 10; i++ {
		_, s := connectAccept(t, k, l)
		_ = k.Register(s, kernel.Token(i), inW)
	}
	seen := map[kernel.Token]int{}
	events := make([]kernel.Event, 3)
	for round := 0; round < 4; round++ {
		n, err := k.Poll(events, 0)
		if err != nil || n > 3 {
			t.Fatalf("poll: %d, %v", n, err)
		}
		for _, e := range events[:n] {
			seen[e.Token]++
		}
	}
	if len(seen) != 10 {
		t.Fatalf("saw %d tokens, want 10", len(seen))
	}
	for tok, n := range seen {
		if n != 1 {
			t.Fatalf("token %d reported %d times", tok, n)
		}
	}
}

// TestPollTimeout checks the virtual clock: with nothing ready a positive
// timeout advances it by the timeout, a negative or zero one returns at
// once and leaves it alone, and an edge returns without advancing.
func TestPollTimeout(t *testing.T) {
	k := newKernel(12, netfake.Config{Epoch: time.Hour})
	events := make([]kernel.Event, 4)
	start := k.Now()
	if n, err := k.Poll(events, 250*time.Millisecond); n != 0 || err != nil || k.Now() != start+250*time.Millisecond {
		t.Fatalf("poll with timeout: %d, %v, clock moved %v", n, err, k.Now()-start)
	}
	if n, _ := k.Poll(events, -1); n != 0 || k.Now() != start+250*time.Millisecond {
		t.Fatalf("poll with negative timeout moved the clock or returned %d", n)
	}
	k.Advance(time.Second)
	if k.Now() != start+1250*time.Millisecond {
		t.Fatalf("advance: %v", k.Now()-start)
	}
	_, _, s := pair(t, k)
	_ = k.Register(s, 1, inW)
	before := k.Now()
	if n, _ := k.Poll(events, time.Second); n != 1 || k.Now() != before {
		t.Fatalf("poll with an edge: %d events, clock moved %v", n, k.Now()-before)
	}
	if n, err := k.Poll(nil, 0); n != 0 || !isErrno(err, syscall.EINVAL) {
		t.Fatalf("poll with no room: %d, %v", n, err)
	}
}

// TestShuffleDependsOnSeed checks that batch order comes from the rng: the
// same seed gives the same order, and different seeds give different ones.
func TestShuffleDependsOnSeed(t *testing.T) {
	order := func(seed uint64) string {
		k := newKernel(seed, netfake.Config{})
		l, _ := k.Listen(32)
		for i := 0; i < 12; i++ {
			_, s := connectAccept(t, k, l)
			_ = k.Register(s, kernel.Token(i), inW)
		}
		return fmt.Sprint(poll(t, k))
	}
	if a, b := order(1), order(1); a != b {
		t.Fatalf("same seed, different order:\n%s\n%s", a, b)
	}
	distinct := map[string]bool{}
	for seed := uint64(0); seed < 10; seed++ {
		distinct[order(seed)] = true
	}
	if len(distinct) < 5 {
		t.Fatalf("only %d distinct orders over 10 seeds", len(distinct))
	}
}

// TestStrictSubsetOfLinux checks the modes' relation over random scripts:
// every event strict mode reports, Linux reports too, with at least the
// same bits, in both batch shapes. Method: run the same script on a strict
// and a Linux kernel, with Flush as the only transmission (it draws nothing
// from the rng, so both kernels hold the same bytes), and compare each
// Poll token by token.
func TestStrictSubsetOfLinux(t *testing.T) {
	for seed := uint64(0); seed < 300; seed++ {
		for _, shape := range []netfake.BatchShape{netfake.BatchEpoll, netfake.BatchKqueue} {
			checkSubset(t, seed, shape)
		}
	}
}

func checkSubset(t *testing.T, seed uint64, shape netfake.BatchShape) {
	t.Helper()
	cfg := netfake.Config{Batch: shape, RecvBufBytes: 16, SendBufBytes: 12, ClientRecvBufBytes: 10, ClientSendBufBytes: 20}
	var ks [2]*netfake.Kernel
	var cs [2][]*netfake.Client
	var ss [2][]*netfake.Socket
	var ls [2]*netfake.Listener
	for i, m := range modes {
		cfg.Edge = m
		ks[i] = newKernel(seed, cfg)
		ls[i], _ = ks[i].Listen(8)
		_ = ks[i].Register(ls[i], 1000, inR)
	}
	script := rand.New(rand.NewPCG(seed, 77))
	buf := make([]byte, 32)
	for step := 0; step < 200; step++ {
		op := script.IntN(12)
		arg := script.IntN(32)
		var batches [2][]kernel.Event
		for i := range ks {
			k := ks[i]
			n := len(cs[i])
			switch {
			case op == 0 && n < 4:
				c, err := k.Connect(ls[i])
				if err == nil {
					cs[i] = append(cs[i], c)
				}
			case op == 1:
				if st, err := ls[i].Accept(); err == nil {
					s := st.(*netfake.Socket)
					ss[i] = append(ss[i], s)
					_ = k.Register(s, kernel.Token(len(ss[i])), kernel.Interest(1+arg%3))
				}
			case op == 2 && n > 0:
				_, _ = cs[i][arg%n].Write(buf[:arg])
			case op == 3 && n > 0:
				_, _ = cs[i][arg%n].Read(buf[:arg])
			case op == 4 && len(ss[i]) > 0:
				_, _ = ss[i][arg%len(ss[i])].Read(buf[:arg])
			case op == 5 && len(ss[i]) > 0:
				_, _ = ss[i][arg%len(ss[i])].Write(buf[:arg])
			case op == 6:
				k.Flush()
			case op == 7 && n > 0 && arg < 4:
				switch arg {
				case 0:
					_ = cs[i][arg%n].ShutdownWrite()
				case 1:
					_ = cs[i][arg%n].Reset()
				default:
					_ = cs[i][arg%n].Close()
				}
			case op == 8 && len(ss[i]) > 0 && arg < 6:
				s := ss[i][arg%len(ss[i])]
				if arg < 3 {
					_ = s.CloseWrite()
				} else {
					_ = s.Close()
				}
			case op == 9 && len(ss[i]) > 0:
				j := arg % len(ss[i])
				_ = k.Reregister(ss[i][j], kernel.Token(j+1), kernel.Interest(1+arg%3))
			default:
				evs := make([]kernel.Event, 64)
				nev, _ := k.Poll(evs, 0)
				batches[i] = evs[:nev]
			}
		}
		for _, e := range batches[0] {
			lr, ok := merged(batches[1], e.Token)
			sr, _ := merged(batches[0], e.Token)
			if !ok || sr&^lr != 0 {
				t.Fatalf("seed %d %s step %d: strict reported %s for token %d, linux %s (found %v)",
					seed, shape, step, rs(sr), e.Token, rs(lr), ok)
			}
		}
	}
}
