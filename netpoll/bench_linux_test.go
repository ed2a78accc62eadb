package netpoll_test

import (
	"errors"
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netpoll"
)

// benchPair returns a connected loopback pair for a benchmark.
func benchPair(b *testing.B) (client, srv *netpoll.Conn) {
	b.Helper()
	l, err := netpoll.Listen("tcp4", "127.0.0.1:0", netpoll.ListenConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	client, err = netpoll.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { client.Close() })
	deadline := time.Now().Add(waitMax)
	for {
		s, err := l.Accept()
		if err == nil {
			srv = s.(*netpoll.Conn)
			b.Cleanup(func() { srv.Close() })
			return client, srv
		}
		if !errors.Is(err, kernel.ErrWouldBlock) || time.Now().After(deadline) {
			b.Fatalf("Accept: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
}

// drainAll reads c until it would block, for benchmarks.
func drainAll(b *testing.B, c *netpoll.Conn, buf []byte) int {
	total := 0
	for {
		n, err := c.Read(buf)
		total += n
		if errors.Is(err, kernel.ErrWouldBlock) {
			return total
		}
		if err != nil {
			b.Fatalf("Read: %v", err)
		}
	}
}

// Cost of one Writev of four 64-byte frames (one sendmsg), the peer
// draining whenever the send path fills.
func BenchmarkWritev4x64(b *testing.B) {
	client, srv := benchPair(b)
	frame := make([]byte, 64)
	bufs := [][]byte{frame, frame, frame, frame}
	rbuf := make([]byte, 256<<10)
	b.SetBytes(4 * 64)
	b.ReportAllocs()
	for b.Loop() {
		_, err := srv.Writev(bufs)
		if errors.Is(err, kernel.ErrWouldBlock) {
			drainAll(b, client, rbuf)
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// Cost of the same four frames as four Writes, to compare with Writev.
func BenchmarkWrite4x64(b *testing.B) {
	client, srv := benchPair(b)
	frame := make([]byte, 64)
	rbuf := make([]byte, 256<<10)
	b.SetBytes(4 * 64)
	b.ReportAllocs()
	for b.Loop() {
		for range 4 {
			_, err := srv.Write(frame)
			if errors.Is(err, kernel.ErrWouldBlock) {
				drainAll(b, client, rbuf)
				continue
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// One echo round trip through epoll on loopback: the client writes 64
// bytes, the server polls, reads and writes them back, the client polls
// and reads. This is the floor of the event loop's per-message latency.
func BenchmarkEchoRoundTrip(b *testing.B) {
	client, srv := benchPair(b)
	p, err := netpoll.New()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	if err := p.Register(srv, 1, kernel.InterestRead); err != nil {
		b.Fatal(err)
	}
	if err := p.Register(client, 2, kernel.InterestRead); err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 64)
	buf := make([]byte, 4096)
	events := make([]kernel.Event, 16)
	wait := func(tok kernel.Token) {
		for {
			n, err := p.Poll(events, time.Second)
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				b.Fatal("no event within 1s")
			}
			for _, ev := range events[:n] {
				if ev.Token == tok {
					return
				}
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.Write(msg); err != nil {
			b.Fatal(err)
		}
		wait(1)
		n := drainAll(b, srv, buf)
		if _, err := srv.Write(buf[:n]); err != nil {
			b.Fatal(err)
		}
		wait(2)
		drainAll(b, client, buf)
	}
}

// Cost of a Wake followed by the Poll it wakes.
func BenchmarkWakePoll(b *testing.B) {
	p, err := netpoll.New()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	events := make([]kernel.Event, 16)
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Wake(); err != nil {
			b.Fatal(err)
		}
		if _, err := p.Poll(events, time.Second); err != nil {
			b.Fatal(err)
		}
	}
}
