package netpoll_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/mobsim/mobsim/internal/procfs"
	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netpoll"
)

// These tests check on real sockets what kernel.UnackedCounter and
// kernel.Aborter promise, and the facts of Linux TCP that a server's safe
// close rests on.

// fillSend writes to c until the send side is full (ErrWouldBlock), waiting a
// moment between tries so the kernel can shrink the peer's window, and
// returns what it wrote.
func fillSend(t *testing.T, c *netpoll.Conn) []byte {
	t.Helper()
	var out []byte
	chunk := bytes.Repeat([]byte("fill"), 4096)
	for blocked := 0; blocked < 3; {
		n, err := c.Write(chunk)
		out = append(out, chunk[:n]...)
		switch {
		case errors.Is(err, kernel.ErrWouldBlock):
			blocked++
			time.Sleep(5 * time.Millisecond)
		case err != nil:
			t.Fatalf("Write: %v", err)
		}
		if len(out) > 64<<20 {
			t.Fatalf("wrote 64 MiB to a peer that does not read and never filled its buffers")
		}
	}
	return out
}

// readToEnd reads c (non-blocking) until it returns io.EOF or an error,
// within waitMax, and returns the bytes and that error.
func readToEnd(t *testing.T, c *netpoll.Conn) ([]byte, error) {
	t.Helper()
	var out []byte
	buf := make([]byte, 64<<10)
	for deadline := time.Now().Add(waitMax); time.Now().Before(deadline); {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		switch {
		case errors.Is(err, kernel.ErrWouldBlock):
			time.Sleep(time.Millisecond)
		case err != nil:
			return out, err
		}
	}
	t.Fatalf("read %d bytes and no end of stream within %v", len(out), waitMax)
	return nil, nil
}

// waitUnacked waits until c reports want unacknowledged bytes, within
// waitMax, and fails with the last count otherwise.
func waitUnacked(t *testing.T, c *netpoll.Conn, want int) {
	t.Helper()
	var n int
	var err error
	for deadline := time.Now().Add(waitMax); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if n, err = c.UnackedBytes(); err != nil {
			t.Fatalf("UnackedBytes: %v", err)
		}
		if n == want {
			return
		}
	}
	t.Fatalf("UnackedBytes stayed %d, want %d within %v", n, want, waitMax)
}

// stableUnacked reads c's count until it is the same five times in a row
// 20 ms apart (the peer's window has closed, and any acknowledgement Linux
// delays, 40 ms at most, has come): nothing more moves.
func stableUnacked(t *testing.T, c *netpoll.Conn) int {
	t.Helper()
	last, same := -1, 0
	for deadline := time.Now().Add(waitMax); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		n, err := c.UnackedBytes()
		if err != nil {
			t.Fatalf("UnackedBytes: %v", err)
		}
		if n == last {
			if same++; same == 5 {
				return n
			}
		} else {
			last, same = n, 0
		}
	}
	t.Fatalf("UnackedBytes never settled within %v (last %d)", waitMax, last)
	return 0
}

// Linux's SIOCOUTQ counts the bytes the peer has not acknowledged, and the
// FIN as one more: with the peer's receive window closed, CloseWrite adds
// exactly 1. Once the peer has read everything, the count falls to 0 (the
// FIN acknowledged too) and the peer reads the end of stream. A fresh
// connection counts 0.
func TestUnackedBytesCountsTheFIN(t *testing.T) {
	client, srv := pair(t)
	if n, err := srv.UnackedBytes(); n != 0 || err != nil {
		t.Fatalf("UnackedBytes on a fresh connection = %d, %v; want 0", n, err)
	}
	// A send buffer larger than the peer's window: bytes stay unsent
	// behind the closed window, so no acknowledgement can move the count
	// between two reads of it, and the FIN cannot leave either.
	if err := srv.SetBuffers(0, 256<<10); err != nil {
		t.Fatal(err)
	}
	wrote := fillSend(t, srv)
	before := stableUnacked(t, srv)
	if before <= 0 || before > len(wrote) {
		t.Fatalf("UnackedBytes with the peer's window closed = %d, want 1 to %d", before, len(wrote))
	}
	if err := srv.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	after, err := srv.UnackedBytes()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d bytes; unacknowledged %d before CloseWrite, %d after", len(wrote), before, after)
	if after != before+1 {
		t.Fatalf("UnackedBytes after CloseWrite = %d, want %d (the FIN counts one)", after, before+1)
	}
	got, err := readToEnd(t, client)
	if err != io.EOF || !bytes.Equal(got, wrote) {
		t.Fatalf("peer read %d bytes then %v; want the %d written then io.EOF", len(got), err, len(wrote))
	}
	waitUnacked(t, srv, 0)
}

// A byte the peer has acknowledged is in the peer's kernel: a reset after
// it (closing with input left unread) does not take it back. The contrast
// case shows why the count matters: bytes not yet acknowledged when the
// reset goes out can be lost.
func TestAckedBytesSurviveReset(t *testing.T) {
	t.Run("acknowledged", func(t *testing.T) {
		// The brief's check: 100,000 bytes to a peer that reads nothing
		// yet, CloseWrite, wait until everything (FIN included) is
		// acknowledged, close with the peer's input unread (an RST).
		client, srv := pair(t)
		mustWrite(t, client, []byte("input the server never reads"))
		want := bytes.Repeat([]byte("0123456789"), 10_000)
		for rest, deadline := want, time.Now().Add(waitMax); len(rest) > 0; {
			n, err := srv.Write(rest)
			rest = rest[n:]
			if err != nil && !errors.Is(err, kernel.ErrWouldBlock) {
				t.Fatalf("Write: %v", err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the peer's kernel took only %d of %d bytes unread", len(want)-len(rest), len(want))
			}
		}
		if err := srv.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		waitUnacked(t, srv, 0)
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := readToEnd(t, client)
		t.Logf("peer read %d of %d bytes, then %v", len(got), len(want), err)
		if !bytes.Equal(got, want) || err != io.EOF {
			t.Fatalf("peer read %d bytes then %v; want all %d then io.EOF", len(got), err, len(want))
		}
	})
	t.Run("unacknowledged", func(t *testing.T) {
		// The contrast: with the peer's window closed and a send buffer
		// full behind it, a reset loses what was not yet acknowledged
		// (not every unacknowledged byte, though: some may already be
		// in the peer's kernel, their acknowledgement not yet back).
		client, srv := pair(t)
		if err := srv.SetBuffers(0, 256<<10); err != nil {
			t.Fatal(err)
		}
		mustWrite(t, client, []byte("input the server never reads"))
		wrote := fillSend(t, srv)
		unacked := stableUnacked(t, srv)
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := readToEnd(t, client)
		t.Logf("wrote %d bytes, %d unacknowledged at the reset; peer read %d, then %v", len(wrote), unacked, len(got), err)
		if !errors.Is(err, syscall.ECONNRESET) || len(got) >= len(wrote) || len(got) < len(wrote)-unacked || !bytes.Equal(got, wrote[:len(got)]) {
			t.Fatalf("peer read %d bytes then %v; want at least the %d acknowledged, not all %d, then ECONNRESET",
				len(got), err, len(wrote)-unacked, len(wrote))
		}
	})
}

// serverSocket finds the socket of the accepted side in the kernel's
// table: its local port is the listener's, its remote port the client's.
func serverSocket(t *testing.T, lport, rport int) (procfs.TCPSocket, bool) {
	t.Helper()
	socks, err := procfs.TCPSockets()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range socks {
		if s.LocalPort == lport && s.RemotePort == rport {
			return s, true
		}
	}
	return procfs.TCPSocket{}, false
}

// Abort frees the send buffer at once: closed the ordinary way, a socket
// whose peer does not read stays behind as an orphan (FIN_WAIT1) holding
// its unsent bytes; aborted, it is gone from the kernel's table when Abort
// returns, and the peer reads what it had received, then ECONNRESET.
func TestAbortFreesSendBuffer(t *testing.T) {
	for _, abort := range []bool{false, true} {
		name := map[bool]string{false: "close", true: "abort"}[abort]
		t.Run(name, func(t *testing.T) {
			l := listen(t, "tcp4", "127.0.0.1:0")
			client := dial(t, l)
			srv := acceptOne(t, l)
			// A send buffer larger than the peer's window: hundreds of KB
			// stay unsent behind the closed window, whatever the timing.
			if err := srv.SetBuffers(0, 256<<10); err != nil {
				t.Fatal(err)
			}
			wrote := fillSend(t, srv)
			lport, rport := l.Addr().(*net.TCPAddr).Port, srv.RemoteAddr().(*net.TCPAddr).Port
			before, ok := serverSocket(t, lport, rport)
			if !ok || before.TxQueueBytes == 0 {
				t.Fatalf("the accepted socket (port %d to %d) is not in /proc/net/tcp with a send queue: %+v", lport, rport, before)
			}
			close := srv.Close
			if abort {
				close = srv.Abort
			}
			if err := close(); err != nil {
				t.Fatal(err)
			}
			after, left := serverSocket(t, lport, rport)
			t.Logf("wrote %d bytes; the socket held %d unacknowledged before %s, after: %v %+v", len(wrote), before.TxQueueBytes, name, left, after)
			if abort {
				if left {
					t.Fatalf("after Abort the socket is still in the kernel's table: %+v", after)
				}
				got, err := readToEnd(t, client)
				if !errors.Is(err, syscall.ECONNRESET) || !bytes.Equal(got, wrote[:len(got)]) {
					t.Fatalf("peer read %d bytes then %v; want a prefix of what was written, then ECONNRESET", len(got), err)
				}
				return
			}
			if !left || after.TxQueueBytes == 0 {
				t.Fatalf("after Close the orphan no longer holds its send queue (%v %+v): the contrast this test draws is gone", left, after)
			}
			client.Abort() // frees the orphan: its RST answers the server's next probe
		})
	}
}

// The listener's SO_SNDBUF is inherited by the sockets it accepts (Linux),
// which is how -send-buf-bytes reaches every connection; a listener left
// alone gives them the autotuned default.
func TestListenerSendBufInherited(t *testing.T) {
	for _, sendBuf := range []int{0, 16 << 10} {
		l, err := netpoll.Listen("tcp4", "127.0.0.1:0", netpoll.ListenConfig{SendBufBytes: sendBuf})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		dial(t, l)
		srv := acceptOne(t, l)
		got, err := syscall.GetsockoptInt(srv.FD(), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("listener SendBufBytes %d: accepted socket's SO_SNDBUF %d", sendBuf, got)
		if sendBuf > 0 && got != 2*sendBuf {
			t.Fatalf("accepted socket's SO_SNDBUF = %d, want %d (Linux doubles the %d set on the listener)", got, 2*sendBuf, sendBuf)
		}
	}
}
