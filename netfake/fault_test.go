package netfake_test

import (
	"bytes"
	"io"
	"syscall"
	"testing"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
)

// TestFaultShortRead checks short reads: every read returns fewer bytes
// than were available (never zero), and the bytes come out in order.
func TestFaultShortRead(t *testing.T) {
	k := newKernel(1, netfake.Config{Faults: netfake.FaultPlan{ShortRead: 1}})
	_, c, s := pair(t, k)
	msg := []byte("abcdefghijklmnopqrstuvwxyz")
	_, _ = c.Write(msg)
	_ = c.ShutdownWrite()
	k.Flush()
	var got []byte
	buf := make([]byte, 64)
	for {
		avail := len(msg) - len(got)
		n, err := s.Read(buf)
		if err == io.EOF {
			break
		}
		if err != nil || n < 1 || (avail > 1 && n >= avail) {
			t.Fatalf("read %d of %d available, %v", n, avail, err)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got, msg) || k.FaultCount(netfake.FaultShortRead) == 0 {
		t.Fatalf("got %q, %d faults", got, k.FaultCount(netfake.FaultShortRead))
	}
}

// TestFaultShortWrite checks short writes, for Write and Writev: fewer
// bytes accepted than fit, never zero, and the peer receives exactly the
// accepted bytes in order.
func TestFaultShortWrite(t *testing.T) {
	k := newKernel(2, netfake.Config{Faults: netfake.FaultPlan{ShortWrite: 1}})
	_, c, s := pair(t, k)
	var want []byte
	for i := 0; i < 20; i++ {
		p := []byte("0123456789")
		var n int
		if i%2 == 0 {
			n, _ = s.Write(p)
			want = append(want, p[:n]...)
		} else {
			n, _ = s.Writev([][]byte{p[:4], p[4:]})
			want = append(want, p[:n]...)
		}
		if n < 1 || n >= len(p) {
			t.Fatalf("write %d accepted %d of %d", i, n, len(p))
		}
	}
	k.Flush()
	got, _ := readAll(c)
	if !bytes.Equal(got, want) {
		t.Fatalf("client got %q, want %q", got, want)
	}
}

// TestFaultReset checks the injected reset: both sides really are reset,
// the server's read returns what had arrived first and what was on the
// wire (the RST comes behind it), then ECONNRESET; bytes still waiting for
// the window are lost, and the client's reads fail too.
func TestFaultReset(t *testing.T) {
	k := newKernel(3, netfake.Config{RecvBufBytes: 10})
	obs := &recorder{}
	k.SetObserver(obs)
	_, c, s := pair(t, k)
	_, _ = c.Write([]byte("before"))
	k.Flush()
	if n, err := c.Write([]byte("sentlost")); n != 8 || err != nil {
		t.Fatalf("client write: %d, %v", n, err)
	}
	k.SetFaults(netfake.FaultPlan{Reset: 1})
	got, err := readAll(s)
	if string(got) != "beforesent" || !isErrno(err, syscall.ECONNRESET) {
		t.Fatalf("server read %q, %v; want %q then ECONNRESET", got, err, "beforesent")
	}
	k.SetFaults(netfake.FaultPlan{})
	if _, err := c.Read(make([]byte, 4)); !isErrno(err, syscall.ECONNRESET) {
		t.Fatalf("client read: %v, want ECONNRESET", err)
	}
	if _, err := c.Write([]byte("x")); !isErrno(err, syscall.EPIPE) {
		t.Fatalf("client write: %v, want EPIPE", err)
	}
	if len(obs.reset) != 1 || obs.reset[0] != c.ID() {
		t.Fatalf("observer resets %v", obs.reset)
	}
	k.Flush()
	if info, _ := k.Conn(c.ID()); info.ClientUnsent != 0 || info.ServerUnread != 0 {
		t.Fatalf("bytes left after reset: %+v", info)
	}
}

// TestFaultPipe checks the injected EPIPE on write: the write fails with
// EPIPE and the connection is reset on both sides.
func TestFaultPipe(t *testing.T) {
	k := newKernel(4, netfake.Config{Faults: netfake.FaultPlan{Pipe: 1}})
	_, c, s := pair(t, k)
	if n, err := s.Write([]byte("x")); n != 0 || !isErrno(err, syscall.EPIPE) {
		t.Fatalf("write: %d, %v; want EPIPE", n, err)
	}
	if !c.WasReset() {
		t.Fatal("client not reset")
	}
	if _, err := s.Writev([][]byte{[]byte("y")}); !isErrno(err, syscall.EPIPE) {
		t.Fatalf("second write: %v, want EPIPE", err)
	}
}

// TestFaultInterrupt checks EINTR from Poll: no events, ErrInterrupted, and
// the pending edge is still there for the next Poll.
func TestFaultInterrupt(t *testing.T) {
	k := newKernel(5, netfake.Config{Faults: netfake.FaultPlan{Interrupt: 1}})
	_, _, s := pair(t, k)
	_ = k.Register(s, 1, inW)
	events := make([]kernel.Event, 8)
	if n, err := k.Poll(events, 0); n != 0 || err != kernel.ErrInterrupted {
		t.Fatalf("poll: %d, %v; want 0, ErrInterrupted", n, err)
	}
	k.SetFaults(netfake.FaultPlan{})
	expectEvent(t, k, 1, wr, "after EINTR")
}

// TestFaultAbort checks ECONNABORTED: the pending connection is consumed,
// its client is reset, and the next one is still accepted.
func TestFaultAbort(t *testing.T) {
	k := newKernel(6, netfake.Config{Faults: netfake.FaultPlan{Abort: 1}})
	l, _ := k.Listen(4)
	c1, _ := k.Connect(l)
	c2, _ := k.Connect(l)
	if _, err := l.Accept(); !isErrno(err, syscall.ECONNABORTED) {
		t.Fatalf("accept: %v, want ECONNABORTED", err)
	}
	if l.Pending() != 1 {
		t.Fatalf("pending %d, want 1", l.Pending())
	}
	k.Flush()
	if _, err := c1.Read(make([]byte, 1)); !isErrno(err, syscall.ECONNRESET) {
		t.Fatalf("aborted client read: %v", err)
	}
	k.SetFaults(netfake.FaultPlan{})
	st, err := l.Accept()
	if err != nil || st.(*netfake.Socket).ID() != c2.ID() {
		t.Fatalf("accept after abort: %v", err)
	}
}

// TestFaultMFile checks the injected EMFILE: Accept fails, nothing is
// consumed, and the connection is accepted once the fault is off.
func TestFaultMFile(t *testing.T) {
	k := newKernel(7, netfake.Config{Faults: netfake.FaultPlan{MFile: 1}})
	l, _ := k.Listen(4)
	c, _ := k.Connect(l)
	for i := 0; i < 3; i++ {
		if _, err := l.Accept(); !isErrno(err, syscall.EMFILE) {
			t.Fatalf("accept: %v, want EMFILE", err)
		}
	}
	if l.Pending() != 1 || k.OpenFDs() != 1 {
		t.Fatalf("pending %d, fds %d", l.Pending(), k.OpenFDs())
	}
	k.SetFaults(netfake.FaultPlan{})
	st, err := l.Accept()
	if err != nil || st.(*netfake.Socket).ID() != c.ID() {
		t.Fatalf("accept: %v", err)
	}
}

// TestFaultSpuriousReady checks spurious readiness: an event for a live
// registration that is not ready, whose read then returns ErrWouldBlock.
func TestFaultSpuriousReady(t *testing.T) {
	k := newKernel(8, netfake.Config{})
	_, _, s := pair(t, k)
	_ = k.Register(s, 42, inR)
	k.SetFaults(netfake.FaultPlan{SpuriousReady: 1})
	got, ok := merged(poll(t, k), 42)
	if !ok || got != rd {
		t.Fatalf("spurious event %v %s", ok, rs(got))
	}
	if _, err := s.Read(make([]byte, 4)); err != kernel.ErrWouldBlock {
		t.Fatalf("read after a spurious event: %v", err)
	}
}

// TestFaultSpuriousToken checks spurious tokens: over many polls they name
// a stale token (deregistered earlier), a token never registered, and
// duplicates of real events.
func TestFaultSpuriousToken(t *testing.T) {
	k := newKernel(9, netfake.Config{})
	l, _ := k.Listen(4)
	_, s1 := connectAccept(t, k, l)
	_, s2 := connectAccept(t, k, l)
	_ = k.Register(s1, 1, inW)
	_ = k.Deregister(s1)
	k.SetFaults(netfake.FaultPlan{SpuriousToken: 1})
	var stale, unknown, dup bool
	for i := 0; i < 200; i++ {
		_ = k.Reregister(s2, 2, inW) // a real event to duplicate, on some polls
		if i%2 == 0 {
			_ = k.Deregister(s2)
			_ = k.Register(s2, 2, inR)
		}
		evs := poll(t, k)
		count := 0
		for _, e := range evs {
			switch e.Token {
			case 1:
				stale = true
			case 2:
				count++
			default:
				unknown = true
			}
		}
		if count > 1 {
			dup = true
		}
	}
	if !stale || !unknown || !dup {
		t.Fatalf("stale %v, unknown %v, duplicate %v", stale, unknown, dup)
	}
}
