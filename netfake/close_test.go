package netfake_test

import (
	"errors"
	"io"
	"syscall"
	"testing"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
)

// UnackedBytes counts exactly what has not arrived: what waits behind the
// closed window and what is on the wire, plus one for the FIN until it
// arrives, as Linux's SIOCOUTQ does; with NoUnacked it fails with ENOTSUP.
func TestUnackedBytesExact(t *testing.T) {
	k := newKernel(1, netfake.Config{RecvBufBytes: 64, SendBufBytes: 64, ClientRecvBufBytes: 16, ClientSendBufBytes: 64})
	_, c, s := pair(t, k)
	unacked := func(want int, when string) {
		t.Helper()
		if n, err := s.UnackedBytes(); n != want || err != nil {
			t.Fatalf("%s: UnackedBytes = %d, %v; want %d", when, n, err, want)
		}
	}
	unacked(0, "fresh")
	if n, err := s.Write(make([]byte, 40)); n != 40 || err != nil {
		t.Fatalf("write = %d, %v", n, err)
	}
	unacked(40, "before any transmission") // 16 on the wire, 24 behind the window
	k.Flush()
	unacked(24, "the client's 16-byte buffer full")
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	unacked(25, "after CloseWrite: the FIN counts one")
	got, err := readAll(c)
	for err == nil || errors.Is(err, kernel.ErrWouldBlock) {
		k.Flush()
		var more []byte
		more, err = readAll(c)
		got = append(got, more...)
	}
	if len(got) != 40 || err != io.EOF {
		t.Fatalf("client read %d bytes then %v; want 40 then io.EOF", len(got), err)
	}
	unacked(0, "once the FIN arrived")

	k2 := newKernel(1, netfake.Config{NoUnacked: true})
	_, _, s2 := pair(t, k2)
	if _, err := s2.UnackedBytes(); !errors.Is(err, syscall.ENOTSUP) {
		t.Fatalf("UnackedBytes with NoUnacked: %v, want ENOTSUP", err)
	}
}

// Abort drops the server's send buffer at once and resets the client, who
// reads what had arrived and then ECONNRESET; Close with nothing unread
// leaves the unsent bytes to go out behind the window (an orphan holding
// its buffer), followed by a FIN.
func TestAbortDropsSendBuffer(t *testing.T) {
	for _, abort := range []bool{false, true} {
		k := newKernel(1, netfake.Config{SendBufBytes: 64, ClientRecvBufBytes: 16})
		_, c, s := pair(t, k)
		if n, err := s.Write(make([]byte, 50)); n != 50 || err != nil {
			t.Fatalf("write = %d, %v", n, err)
		}
		k.Flush()
		closeIt := s.Close
		if abort {
			closeIt = s.Abort
		}
		if err := closeIt(); err != nil {
			t.Fatal(err)
		}
		info, _ := k.Conn(c.ID())
		held := info.ServerUnsent + info.ServerInFlight
		k.Flush() // the RST, if any, arrives
		got, err := readAll(c)
		t.Logf("abort=%v: the server side holds %d bytes after the close; the client read %d, then %v", abort, held, len(got), err)
		switch {
		case abort && (held != 0 || len(got) != 16 || !errors.Is(err, syscall.ECONNRESET)):
			t.Fatalf("after Abort the server holds %d bytes and the client read %d then %v; want 0, 16, ECONNRESET", held, len(got), err)
		case !abort && held != 34:
			t.Fatalf("after Close the server holds %d bytes, want the 34 behind the window", held)
		}
	}
}

// Goal: after the peer's reset the count stops falling, as the seam says
// and Linux does (write_seq - snd_una stays): the purge of the send queue
// is not an acknowledgement, so a server asking must not read "all
// acknowledged" off a reset. Method: 50 bytes behind a 16-byte window and
// the FIN, then the client resets.
func TestUnackedBytesStayAfterReset(t *testing.T) {
	k := newKernel(1, netfake.Config{SendBufBytes: 64, ClientRecvBufBytes: 16})
	_, c, s := pair(t, k)
	s.Write(make([]byte, 50))
	k.Flush()
	s.CloseWrite()
	before, err := s.UnackedBytes()
	if err != nil || before == 0 {
		t.Fatalf("before the reset: %d, %v; want bytes still unacknowledged", before, err)
	}
	c.Reset()
	k.Flush()
	if after, err := s.UnackedBytes(); err != nil || after != before {
		t.Fatalf("after the peer's reset the count is %d (%v), was %d: a purge read as an acknowledgement", after, err, before)
	}
}
