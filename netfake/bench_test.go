package netfake_test

import (
	"testing"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
)

// BenchmarkSyscalls measures the fake syscalls in the steady state of an
// echo loop over 64 connections: each iteration has every client write a
// frame, one Step, one Poll, and for each event the server reads to
// ErrWouldBlock and writes the bytes back; then every client reads. It
// reports fake syscalls per second (server and client calls; Step is
// counted as one) and allocations per iteration, which must be 0.
func BenchmarkSyscalls(b *testing.B) {
	for _, m := range modes {
		b.Run(m.String(), func(b *testing.B) { benchEcho(b, m) })
	}
}

func benchEcho(b *testing.B, m netfake.EdgeMode) {
	const conns = 64
	k := newKernel(1, netfake.Config{Edge: m, RecvBufBytes: 4096, SendBufBytes: 4096, ClientRecvBufBytes: 4096, ClientSendBufBytes: 4096})
	l, _ := k.Listen(conns)
	clients := make([]*netfake.Client, conns)
	socks := make([]*netfake.Socket, conns)
	for i := range clients {
		c, _ := k.Connect(l)
		st, err := l.Accept()
		if err != nil {
			b.Fatal(err)
		}
		clients[i], socks[i] = c, st.(*netfake.Socket)
		_ = k.Register(socks[i], kernel.Token(i), kernel.InterestRead)
	}
	frame := make([]byte, 48)
	buf := make([]byte, 512)
	events := make([]kernel.Event, 128)
	calls := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, c := range clients {
			_, _ = c.Write(frame)
		}
		k.Step()
		n, _ := k.Poll(events, 0)
		calls += conns + 2
		for _, ev := range events[:n] {
			s := socks[ev.Token]
			for {
				r, err := s.Read(buf)
				calls++
				if r > 0 {
					_, _ = s.Write(buf[:r])
					calls++
				}
				if err != nil {
					break
				}
			}
		}
		k.Flush()
		for _, c := range clients {
			for {
				calls++
				if _, err := c.Read(buf); err != nil {
					break
				}
			}
		}
		calls++
	}
	b.ReportMetric(float64(calls)/b.Elapsed().Seconds(), "syscalls/s")
	b.ReportMetric(float64(calls)/float64(b.N), "syscalls/op")
}

// BenchmarkReadWrite measures the cheapest pair of syscalls alone: a server
// write and a client read on one connection, with a transmission between.
func BenchmarkReadWrite(b *testing.B) {
	k := newKernel(1, netfake.Config{})
	l, _ := k.Listen(1)
	c, _ := k.Connect(l)
	st, _ := l.Accept()
	s := st.(*netfake.Socket)
	frame := make([]byte, 64)
	buf := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = s.Write(frame)
		k.Transmit(c.ID(), 64)
		_, _ = c.Read(buf)
	}
	b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "syscalls/s")
}
