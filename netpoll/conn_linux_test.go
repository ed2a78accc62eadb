package netpoll_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netpoll"
)

// A peer's FIN: data sent before it is read first, then io.EOF; the
// ReadClosed hint (EPOLLRDHUP) is seen. The events are logged for the
// netfake model.
func TestPeerFINGivesDataThenEOF(t *testing.T) {
	p := newPoller(t)
	client, srv := pair(t)
	mustRegister(t, p, srv, 1, kernel.InterestRead|kernel.InterestWrite)
	waitFor(t, p, 1, "initial writable", isWritable)
	mustWrite(t, client, []byte("bye"))
	if err := client.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	seen := waitFor(t, p, 1, "read-closed", func(r kernel.Ready) bool { return r&kernel.ReadyReadClosed != 0 })
	t.Logf("events after data+FIN: %s", readySeq(seen))
	buf := make([]byte, 16)
	n, err := srv.Read(buf)
	if err != nil || string(buf[:n]) != "bye" {
		t.Fatalf("first Read = %q, %v; want \"bye\", nil", buf[:n], err)
	}
	if n, err := srv.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read after FIN = %d, %v; want 0, io.EOF", n, err)
	}
	// Half-close: the server can still send to the client.
	mustWrite(t, srv, []byte("ok"))
}

// A peer's reset (Abort sends RST): Read fails with an error that wraps
// ECONNRESET. The events are logged for the netfake model.
func TestPeerResetGivesECONNRESET(t *testing.T) {
	p := newPoller(t)
	client, srv := pair(t)
	mustRegister(t, p, srv, 1, kernel.InterestRead|kernel.InterestWrite)
	waitFor(t, p, 1, "initial writable", isWritable)
	if err := client.Abort(); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	seen := waitFor(t, p, 1, "error or hang-up", func(r kernel.Ready) bool {
		return r&(kernel.ReadyError|kernel.ReadyReadClosed) != 0
	})
	t.Logf("events after RST: %s", readySeq(seen))
	_, err := srv.Read(make([]byte, 16))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Read after RST = %v, want ECONNRESET", err)
	}
	t.Logf("Read after RST: %v", err)
	// Linux reports the reset once; later reads see a plain EOF.
	n, err := srv.Read(make([]byte, 16))
	t.Logf("second Read after RST: %d, %v", n, err)
}

// Writing to a reset connection fails with EPIPE or ECONNRESET and raises
// no SIGPIPE. With os/signal watching SIGPIPE the Go runtime forwards any
// SIGPIPE to the channel, so a missing MSG_NOSIGNAL would show up there.
func TestWriteAfterPeerResetFailsWithoutSIGPIPE(t *testing.T) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGPIPE)
	defer signal.Stop(sigs)

	p := newPoller(t)
	client, srv := pair(t)
	mustRegister(t, p, srv, 1, kernel.InterestRead)
	if err := client.Abort(); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	waitFor(t, p, 1, "reset", func(r kernel.Ready) bool { return r&(kernel.ReadyError|kernel.ReadyReadClosed) != 0 })
	// The first write reports the pending ECONNRESET; later ones EPIPE,
	// which is where a SIGPIPE would be raised.
	for i := range 3 {
		_, err := srv.Write([]byte("late"))
		if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("Write %d after RST = %v, want EPIPE or ECONNRESET", i, err)
		}
		t.Logf("Write %d after RST: %v", i, err)
	}
	if _, err := srv.Writev([][]byte{[]byte("a"), []byte("b")}); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Writev after RST = %v, want EPIPE", err)
	}
	select {
	case s := <-sigs:
		t.Fatalf("received %v", s)
	case <-time.After(quietFor):
	}
}

// Writing to a peer that closed (FIN, then RST for the unwanted data) ends
// in EPIPE or ECONNRESET within a few writes, never in a hang.
func TestWriteAfterPeerCloseFails(t *testing.T) {
	client, srv := pair(t)
	if err := client.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	deadline := time.Now().Add(waitMax)
	for {
		_, err := srv.Write([]byte("anyone there?"))
		if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
			return
		}
		if err != nil {
			t.Fatalf("Write = %v, want success, EPIPE or ECONNRESET", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("writes to a closed peer kept succeeding")
		}
		time.Sleep(time.Millisecond)
	}
}

// The writable guarantee: fill the send path (small buffers, peer not
// reading) until Write returns ErrWouldBlock, then let the peer drain, and
// a writable event must arrive; the next Write then makes progress.
func TestFullSendBufferThenWritableEdge(t *testing.T) {
	p := newPoller(t)
	client, srv := pair(t)
	if err := srv.SetBuffers(0, 4096); err != nil {
		t.Fatalf("SetBuffers: %v", err)
	}
	if err := client.SetBuffers(4096, 0); err != nil {
		t.Fatalf("SetBuffers: %v", err)
	}
	mustRegister(t, p, srv, 1, kernel.InterestWrite)
	mustRegister(t, p, client, 2, kernel.InterestRead)
	waitFor(t, p, 1, "initial writable", isWritable)

	chunk := bytes.Repeat([]byte("x"), 1024)
	written := 0
	for {
		n, err := srv.Write(chunk)
		written += n
		if errors.Is(err, kernel.ErrWouldBlock) {
			if n != 0 {
				t.Fatalf("ErrWouldBlock with n=%d", n)
			}
			break
		}
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
		if written > 64<<20 {
			t.Fatal("64 MiB written without filling the buffers")
		}
	}
	t.Logf("send path full after %d bytes", written)

	// Drain the peer while waiting for the writable edge.
	received := 0
	events := make([]kernel.Event, 16)
	deadline := time.Now().Add(waitMax)
	for writable := false; !writable; {
		if time.Now().After(deadline) {
			t.Fatalf("no writable event after the peer drained %d of %d bytes", received, written)
		}
		received += len(drain(t, client))
		n, err := p.Poll(events, 10*time.Millisecond)
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		for _, ev := range events[:n] {
			if ev.Token == 1 && isWritable(ev.Ready) {
				writable = true
			}
		}
	}
	if n, err := srv.Write(chunk); err != nil || n == 0 {
		t.Fatalf("Write after writable edge = %d, %v", n, err)
	}
}

// Writev sends several buffers, skipping empty ones, in order; and it does
// not allocate (the iovec array is on its stack, the call is raw).
func TestWritevWritesBuffersWithoutAllocating(t *testing.T) {
	p := newPoller(t)
	client, srv := pair(t)
	mustRegister(t, p, client, 2, kernel.InterestRead)
	bufs := [][]byte{[]byte("ab"), nil, []byte("cde"), []byte("f")}
	n, err := srv.Writev(bufs)
	if err != nil || n != 6 {
		t.Fatalf("Writev = %d, %v; want 6, nil", n, err)
	}
	if got := readExactly(t, p, 2, client, 6); string(got) != "abcdef" {
		t.Fatalf("peer read %q, want %q", got, "abcdef")
	}

	var failed error
	allocs := testing.AllocsPerRun(100, func() {
		if n, err := srv.Writev(bufs); (err != nil || n != 6) && failed == nil {
			failed = fmt.Errorf("Writev = %d, %v", n, err)
		}
	})
	if failed != nil {
		t.Fatal(failed)
	}
	if allocs != 0 {
		t.Fatalf("Writev allocates %v times per call, want 0", allocs)
	}
	// AllocsPerRun makes one extra warm-up call.
	got := readExactly(t, p, 2, client, 101*6)
	if want := bytes.Repeat([]byte("abcdef"), 101); !bytes.Equal(got, want) {
		t.Fatalf("peer read %q..., want repeats of abcdef", got[:min(len(got), 24)])
	}
}

// Writev passes at most 16 buffers per call; the rest are a short write.
func TestWritevCapsBuffersPerCall(t *testing.T) {
	_, srv := pair(t)
	bufs := make([][]byte, 20)
	for i := range bufs {
		bufs[i] = []byte{byte('a' + i)}
	}
	if n, err := srv.Writev(bufs); err != nil || n != 16 {
		t.Fatalf("Writev(20 one-byte buffers) = %d, %v; want 16, nil", n, err)
	}
	if n, err := srv.Writev([][]byte{nil, {}}); err != nil || n != 0 {
		t.Fatalf("Writev(empty buffers) = %d, %v; want 0, nil", n, err)
	}
}

// Read on an empty socket would block, and says so with ErrWouldBlock.
func TestReadEmptyWouldBlock(t *testing.T) {
	_, srv := pair(t)
	if n, err := srv.Read(make([]byte, 8)); n != 0 || !errors.Is(err, kernel.ErrWouldBlock) {
		t.Fatalf("Read on empty socket = %d, %v; want ErrWouldBlock", n, err)
	}
}

// A second Close fails and does not close the descriptor number, which the
// next socket has probably reused.
func TestCloseTwiceDoesNotCloseAnotherFD(t *testing.T) {
	l := listen(t, "tcp4", "127.0.0.1:0")
	first := dial(t, l)
	acceptOne(t, l)
	fd := first.FD()
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	second := dial(t, l)
	peer := acceptOne(t, l)
	t.Logf("first fd %d, second fd %d", fd, second.FD())
	if err := first.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close = %v, want net.ErrClosed", err)
	}
	mustWrite(t, second, []byte("alive"))
	p := newPoller(t)
	mustRegister(t, p, peer, 1, kernel.InterestRead)
	if got := readExactly(t, p, 1, peer, 5); string(got) != "alive" {
		t.Fatalf("read %q", got)
	}
}

// String names the peer and fd, for logs.
func TestConnString(t *testing.T) {
	client, srv := pair(t)
	want := fmt.Sprintf("peer=%v fd=%d", srv.RemoteAddr(), srv.FD())
	if srv.String() != want {
		t.Fatalf("String() = %q, want %q", srv.String(), want)
	}
	local := client.RemoteAddr().(*net.TCPAddr)
	if !local.IP.Equal(net.IPv4(127, 0, 0, 1)) || local.Port == 0 {
		t.Fatalf("client's peer address %v, want 127.0.0.1 and a port", local)
	}
}

// Dial to a port nobody listens on fails with a wrapped ECONNREFUSED.
func TestDialRefused(t *testing.T) {
	l, err := netpoll.Listen("tcp4", "127.0.0.1:0", netpoll.ListenConfig{})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := netpoll.DialTimeout("tcp", addr, waitMax)
	if err == nil {
		c.Close()
		t.Fatalf("Dial(%s) to a closed port succeeded", addr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Dial error %v, want ECONNREFUSED", err)
	}
}

// SetBuffers changes SO_SNDBUF (Linux reports double the value asked).
func TestSetBuffers(t *testing.T) {
	_, srv := pair(t)
	if err := srv.SetBuffers(0, 8192); err != nil {
		t.Fatalf("SetBuffers: %v", err)
	}
	got, err := syscall.GetsockoptInt(srv.FD(), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
	if err != nil {
		t.Fatalf("getsockopt: %v", err)
	}
	if got != 2*8192 {
		t.Fatalf("SO_SNDBUF = %d, want %d", got, 2*8192)
	}
}
