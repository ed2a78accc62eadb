package netfake_test

import (
	"bytes"
	"io"
	"syscall"
	"testing"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
)

// TestOneByteBuffers checks that 1-byte socket buffers still carry a whole
// message in order: each write takes one byte, each step moves one byte,
// and the reader sees every byte once. Method: pump a message through with
// Step, alternating client writes and server reads.
func TestOneByteBuffers(t *testing.T) {
	k := newKernel(1, netfake.Config{RecvBufBytes: 1, SendBufBytes: 1, ClientRecvBufBytes: 1, ClientSendBufBytes: 1})
	_, c, s := pair(t, k)
	msg := []byte("hello, one byte at a time")
	var got []byte
	buf := make([]byte, 16)
	for sent, i := 0, 0; len(got) < len(msg) && i < 1000; i++ {
		if sent < len(msg) {
			n, err := c.Write(msg[sent:])
			if err == nil && n > 2 {
				t.Fatalf("write with 1-byte buffers took %d bytes (1 on the wire, 1 queued at most)", n)
			}
			sent += n
		}
		k.Step()
		n, err := s.Read(buf)
		if err != nil && err != kernel.ErrWouldBlock {
			t.Fatalf("read: %v", err)
		}
		if n > 1 {
			t.Fatalf("read %d bytes from a 1-byte buffer", n)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("got %q, want %q", got, msg)
	}
}

// TestFlowControl checks that a reader that never reads stops the writer:
// the writer's writes block once its send buffer and the reader's receive
// buffer are full, and resume once the reader reads. Method: fill, flush,
// count the bytes accepted, then read and check a write succeeds.
func TestFlowControl(t *testing.T) {
	k := newKernel(2, netfake.Config{RecvBufBytes: 100, SendBufBytes: 50, ClientRecvBufBytes: 30, ClientSendBufBytes: 20})
	_, c, s := pair(t, k)
	chunk := bytes.Repeat([]byte("x"), 7)
	total := 0
	for i := 0; i < 100; i++ {
		n, err := s.Write(chunk)
		total += n
		if err == kernel.ErrWouldBlock {
			k.Flush()
			if n, err = s.Write(chunk); err == kernel.ErrWouldBlock {
				break
			}
			total += n
		}
	}
	if want := 50 + 30; total != want {
		t.Fatalf("server wrote %d bytes before blocking, want send 50 + peer receive 30 = %d", total, want)
	}
	if _, err := s.Write(chunk); err != kernel.ErrWouldBlock {
		t.Fatalf("write with both buffers full: %v, want ErrWouldBlock", err)
	}
	if c.Pending() != 30 {
		t.Fatalf("client has %d bytes pending, want 30", c.Pending())
	}
	read := 0
	for i := 0; i < 10 && read < 80; i++ {
		got, _ := readAll(c)
		read += len(got)
		k.Flush()
	}
	if read != 80 {
		t.Fatalf("client read %d bytes, want 80", read)
	}
	if _, err := s.Write(chunk); err != nil {
		t.Fatalf("write after the peer read: %v", err)
	}
}

// TestFINHalfClose checks half-close: data written before a FIN is read
// first, then io.EOF; the other direction keeps working; the server's own
// CloseWrite then gives the client EOF. Method: scripted calls, Flush.
func TestFINHalfClose(t *testing.T) {
	k := newKernel(3, netfake.Config{})
	_, c, s := pair(t, k)
	if _, err := c.Write([]byte("last words")); err != nil {
		t.Fatal(err)
	}
	if err := c.ShutdownWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("x")); !isErrno(err, syscall.EPIPE) {
		t.Fatalf("client write after shutdown: %v, want EPIPE", err)
	}
	k.Step() // the FIN may only arrive with or after the last byte
	k.Flush()
	got, err := readAll(s)
	if string(got) != "last words" || err != io.EOF {
		t.Fatalf("server read %q, %v; want the data then io.EOF", got, err)
	}
	if _, err := s.Read(make([]byte, 4)); err != io.EOF {
		t.Fatalf("read after EOF: %v, want io.EOF again", err)
	}
	if _, err := s.Write([]byte("reply")); err != nil {
		t.Fatalf("server write after the client's FIN: %v", err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte("x")); !isErrno(err, syscall.EPIPE) {
		t.Fatalf("server write after CloseWrite: %v, want EPIPE", err)
	}
	k.Flush()
	got, err = readAll(c)
	if string(got) != "reply" || err != io.EOF {
		t.Fatalf("client read %q, %v; want the reply then io.EOF", got, err)
	}
	if !c.GotEOF() {
		t.Fatal("client does not report EOF")
	}
}

// TestFINNeverOvertakesData checks that a FIN arrives only after every byte
// written before it, whatever amounts the steps choose. Method: many seeds,
// step one by one, and check the server never sees EOF while bytes are still
// unsent.
func TestFINNeverOvertakesData(t *testing.T) {
	for seed := uint64(0); seed < 50; seed++ {
		k := newKernel(seed, netfake.Config{RecvBufBytes: 64, ClientSendBufBytes: 64})
		_, c, s := pair(t, k)
		msg := bytes.Repeat([]byte("0123456789"), 6)
		if n, err := c.Write(msg); n != len(msg) || err != nil {
			t.Fatalf("write: %d, %v", n, err)
		}
		_ = c.ShutdownWrite()
		var got []byte
		buf := make([]byte, 5)
		for i := 0; i < 200; i++ {
			k.Step()
			n, err := s.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("seed %d: read %q before EOF, want %q", seed, got, msg)
		}
	}
}

// TestResetKeepsArrivedData checks a client RST against Linux's behaviour
// (seen in the conformance suite): bytes that arrived before the RST are
// still read, then ECONNRESET once, then io.EOF; writes fail with EPIPE
// after the error was consumed. Bytes the client had not sent (its write
// found the server's window closed) are lost.
func TestResetKeepsArrivedData(t *testing.T) {
	k := newKernel(4, netfake.Config{RecvBufBytes: 7})
	_, c, s := pair(t, k)
	_, _ = c.Write([]byte("arrived"))
	k.Flush()
	if n, err := c.Write([]byte("never sent")); n != 10 || err != nil {
		t.Fatalf("client write behind a closed window: %d, %v", n, err)
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); !isErrno(err, syscall.EBADF) {
		t.Fatalf("client read after its own reset: %v, want EBADF", err)
	}
	k.Step()
	got, err := readAll(s)
	if string(got) != "arrived" || !isErrno(err, syscall.ECONNRESET) {
		t.Fatalf("server read %q, %v; want %q then ECONNRESET", got, err, "arrived")
	}
	if _, err := s.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read after ECONNRESET: %v, want io.EOF", err)
	}
	if _, err := s.Write([]byte("x")); !isErrno(err, syscall.EPIPE) {
		t.Fatalf("write after reset: %v, want EPIPE", err)
	}
	if err := s.CloseWrite(); !isErrno(err, syscall.ENOTCONN) {
		t.Fatalf("CloseWrite after reset: %v, want ENOTCONN", err)
	}
}

// TestResetFailsFirstWrite checks that a write is the first call to see an
// RST when it comes first: ECONNRESET, then EPIPE.
func TestResetFailsFirstWrite(t *testing.T) {
	k := newKernel(5, netfake.Config{})
	_, c, s := pair(t, k)
	_ = c.Reset()
	k.Step()
	if _, err := s.Write([]byte("x")); !isErrno(err, syscall.ECONNRESET) {
		t.Fatalf("first write after RST: %v, want ECONNRESET", err)
	}
	if _, err := s.Write([]byte("x")); !isErrno(err, syscall.EPIPE) {
		t.Fatalf("second write after RST: %v, want EPIPE", err)
	}
}

// TestResetInCloseWait checks Linux's tcp_reset in CLOSE_WAIT: after the
// peer's FIN, an RST makes reads return io.EOF and writes EPIPE.
func TestResetInCloseWait(t *testing.T) {
	k := newKernel(6, netfake.Config{})
	_, c, s := pair(t, k)
	_ = c.ShutdownWrite()
	k.Flush()
	_ = c.Reset()
	k.Flush()
	if _, err := s.Read(make([]byte, 4)); err != io.EOF {
		t.Fatalf("read: %v, want io.EOF", err)
	}
	for i := 0; i < 2; i++ {
		if _, err := s.Write([]byte("x")); !isErrno(err, syscall.EPIPE) {
			t.Fatalf("write %d: %v, want EPIPE", i, err)
		}
	}
}

// TestWriteAfterPeerClose checks writing to a peer that closed: the first
// write succeeds (the kernel does not know yet), the peer's kernel answers
// the data with an RST, and the next write fails.
func TestWriteAfterPeerClose(t *testing.T) {
	k := newKernel(7, netfake.Config{})
	_, c, s := pair(t, k)
	_ = c.Close()
	k.Flush()
	if n, err := s.Write([]byte("hello?")); n != 6 || err != nil {
		t.Fatalf("first write after the peer closed: %d, %v; want success", n, err)
	}
	k.Flush()
	if _, err := s.Write([]byte("x")); !isErrno(err, syscall.EPIPE) {
		t.Fatalf("write after the peer's RST: %v, want EPIPE", err)
	}
	if _, err := s.Read(make([]byte, 4)); err != io.EOF {
		t.Fatalf("read: %v, want io.EOF (the FIN came before the RST)", err)
	}
	info, _ := k.Conn(c.ID())
	if !info.ClientReset || !info.ServerReset {
		t.Fatalf("connection not reset on both sides: %+v", info)
	}
}

// TestCloseWithUnreadSendsRST checks Linux's close with unread data: an RST
// instead of a FIN, behind what the server had put on the wire, so the
// client reads what had arrived and what was on its way (written just
// before the close), then ECONNRESET; bytes still waiting for the client's
// window are dropped.
func TestCloseWithUnreadSendsRST(t *testing.T) {
	k := newKernel(8, netfake.Config{ClientRecvBufBytes: 17})
	_, c, s := pair(t, k)
	_, _ = s.Write([]byte("delivered"))
	_, _ = c.Write([]byte("unread"))
	k.Flush()
	if n, err := s.Write([]byte("sent now+dropped")); n != 16 || err != nil {
		t.Fatalf("write: %d, %v", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	k.Flush()
	got, err := readAll(c)
	if string(got) != "deliveredsent now" || !isErrno(err, syscall.ECONNRESET) {
		t.Fatalf("client read %q, %v; want %q then ECONNRESET", got, err, "deliveredsent now")
	}
	if err := s.Close(); !isErrno(err, syscall.EBADF) {
		t.Fatalf("second close: %v, want EBADF", err)
	}
}

// TestCloseFlushesThenFIN checks a normal close: the bytes already written
// still reach the client, then EOF.
func TestCloseFlushesThenFIN(t *testing.T) {
	k := newKernel(9, netfake.Config{SendBufBytes: 8, ClientRecvBufBytes: 4})
	_, c, s := pair(t, k)
	n, _ := s.Write([]byte("goodbye!"))
	_ = s.Close()
	var got []byte
	var err error
	for i := 0; i < 20 && err != io.EOF; i++ {
		k.Step()
		var part []byte
		part, err = readAll(c)
		got = append(got, part...)
	}
	if string(got) != "goodbye!"[:n] || err != io.EOF {
		t.Fatalf("client read %q, %v; want %q then io.EOF", got, err, "goodbye!"[:n])
	}
}

// TestWritev checks that Writev gathers buffers in order, takes only what
// fits (the peer's window, then the send buffer), and reports the bytes to
// the observer piece by piece.
func TestWritev(t *testing.T) {
	k := newKernel(10, netfake.Config{SendBufBytes: 10, ClientRecvBufBytes: 4})
	obs := &recorder{}
	k.SetObserver(obs)
	_, c, s := pair(t, k)
	n, err := s.Writev([][]byte{[]byte("abc"), nil, []byte("defgh"), []byte("ijklmn")})
	if n != 10 || err != nil {
		t.Fatalf("writev: %d, %v; want 10 (4 on the wire, 6 queued)", n, err)
	}
	if got := string(obs.wrote[c.ID()]); got != "abcdefghij" {
		t.Fatalf("observer saw %q", got)
	}
	var got []byte
	for i := 0; i < 10 && len(got) < 10; i++ {
		k.Flush()
		part, _ := readAll(c)
		got = append(got, part...)
	}
	if string(got) != "abcdefghij" {
		t.Fatalf("client read %q", got)
	}
	if _, err := s.Writev([][]byte{[]byte("x")}); err != nil {
		t.Fatalf("writev after drain: %v", err)
	}
}

// TestClosedSocketCallsFail checks that every call on a closed socket fails
// with EBADF and never touches the socket that reused its fd number.
func TestClosedSocketCallsFail(t *testing.T) {
	k := newKernel(11, netfake.Config{})
	l, _, s1 := pair(t, k)
	fd := s1.FD()
	_ = s1.Close()
	c2, s2 := connectAccept(t, k, l)
	if s2.FD() != fd {
		t.Fatalf("new socket got fd %d, want the recycled %d", s2.FD(), fd)
	}
	_, _ = c2.Write([]byte("for s2"))
	k.Flush()
	if _, err := s1.Read(make([]byte, 8)); !isErrno(err, syscall.EBADF) {
		t.Fatalf("read on closed socket: %v", err)
	}
	if _, err := s1.Write([]byte("x")); !isErrno(err, syscall.EBADF) {
		t.Fatalf("write on closed socket: %v", err)
	}
	if err := s1.CloseWrite(); !isErrno(err, syscall.EBADF) {
		t.Fatalf("CloseWrite on closed socket: %v", err)
	}
	if err := s1.Close(); !isErrno(err, syscall.EBADF) {
		t.Fatalf("second Close: %v", err)
	}
	if err := k.Register(s1, 1, kernel.InterestRead); !isErrno(err, syscall.EBADF) {
		t.Fatalf("register closed socket: %v", err)
	}
	got, err := readAll(s2)
	if string(got) != "for s2" || err != kernel.ErrWouldBlock {
		t.Fatalf("s2 read %q, %v after s1's calls", got, err)
	}
	if k.OpenFDs() != 2 {
		t.Fatalf("open fds %d, want 2", k.OpenFDs())
	}
}
