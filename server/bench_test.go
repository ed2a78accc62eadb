package server_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/server"
)

// Microbenchmarks of the core, apart from any kernel: frame decoding, and the
// broadcast path (read, frame, append to the ring, one coalesced write per
// member) driven through the public API on a tiny in-memory poller whose
// streams never block. They assert nothing; they report ns and allocations
// per event and per delivery, the figures the live benchmarks in bench/
// cannot isolate from system calls. Steady state is what counts: setup and
// warm-up ticks run before the timer starts.

// benchFrameBytes is the wire size of one benchmark frame, header or newline
// included, as in the live fan-out benchmark.
const benchFrameBytes = 64

// benchFrames returns n frames of benchFrameBytes each, back to back.
func benchFrames(f server.Framing, n int) []byte {
	overhead := 1
	if f == server.FramingMob {
		overhead = server.MobHeaderBytes
	}
	body := make([]byte, benchFrameBytes-overhead)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	var buf []byte
	for range n {
		buf = f.Encode(buf, body)
	}
	return buf
}

// BenchmarkScan measures frame decoding: Framing.Scan over a buffer of many
// 64-byte frames, in bytes per second.
func BenchmarkScan(b *testing.B) {
	for _, f := range []server.Framing{server.FramingLine, server.FramingMob} {
		b.Run(f.String(), func(b *testing.B) {
			buf := benchFrames(f, 16<<10) // 1 MiB
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			frames := 0
			for b.Loop() {
				for rest := buf; len(rest) > 0; {
					n, err := f.Scan(rest, 64<<10)
					if err != nil || n == 0 {
						b.Fatalf("scan: n=%d err=%v", n, err)
					}
					rest = rest[n:]
					frames++
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(frames), "ns/frame")
		})
	}
}

// BenchmarkBroadcast measures the core's broadcast path per tick. Each tick,
// senders of the members have framesPerEvent frames ready and one readable
// event each; the server reads them, appends them to its ring and writes
// each member once (writev). Metrics: ns and allocs per event (per op divided
// by events), ns per delivery (a frame queued to one member), and write calls
// per delivery.
func BenchmarkBroadcast(b *testing.B) {
	cases := []struct{ members, senders, framesPerEvent int }{
		{10, 1, 1},
		{100, 1, 1},
		{1000, 1, 1},
		{100, 1, 16},
		{100, 100, 1}, // every member sends in the same tick: fan-out at saturation
		{100, 100, 8}, // the live fan-out scenario's shape (window 8)
		{1000, 10, 1}, // the latency scenario's shape, a busier tick
	}
	for _, f := range []server.Framing{server.FramingMob, server.FramingLine} {
		for _, c := range cases {
			for _, batch := range []bool{false, true} {
				name := fmt.Sprintf("%s/members=%d/senders=%d/frames=%d", f, c.members, c.senders, c.framesPerEvent)
				if batch {
					name += "/batch"
				}
				b.Run(name, func(b *testing.B) { benchBroadcast(b, f, c.members, c.senders, c.framesPerEvent, batch) })
			}
		}
	}
}

// benchBroadcast runs one case; batch offers the server a kernel.BatchWriter
// (the tick's fan-out then goes as one batch).
func benchBroadcast(b *testing.B, f server.Framing, members, senders, framesPerEvent int, batch bool) {
	mp := &memPoller{toks: map[kernel.Source]kernel.Token{}}
	var p kernel.Poller = mp
	if batch {
		p = memBatchPoller{mp}
	}
	ln := &memListener{}
	cfg := server.DefaultConfig()
	cfg.Framing = f
	cfg.IdleTimeout = -1
	cfg.ConnsMax = members
	srv, err := server.New(p, ln, cfg)
	if err != nil {
		b.Fatal(err)
	}
	streams := make([]*memStream, members)
	for i := range streams {
		streams[i] = &memStream{}
		ln.pending = append(ln.pending, streams[i])
	}
	mp.ready = append(mp.ready, kernel.Event{Token: mp.listenerTok, Ready: kernel.ReadyRead})
	for range 100 { // the accept budget admits AcceptsPerTickMax a tick
		if err := srv.Tick(); err != nil {
			b.Fatal(err)
		}
	}
	if got := srv.Stats().Members; got != members {
		b.Fatalf("%d of %d members joined", got, members)
	}
	frames := benchFrames(f, framesPerEvent)
	events := make([]kernel.Event, senders)
	for i := range events {
		events[i] = kernel.Event{Token: mp.toks[streams[i]], Ready: kernel.ReadyRead | kernel.ReadyWrite}
	}
	tick := func() {
		for _, s := range streams[:senders] {
			s.in = frames
		}
		mp.ready = append(mp.ready[:0], events...)
		if err := srv.Tick(); err != nil {
			b.Fatal(err)
		}
	}
	for range 64 { // warm up: the ring and the work queues reach their size
		tick()
	}
	before := srv.Stats()
	b.ReportAllocs()
	ticks := 0
	for b.Loop() {
		tick()
		ticks++
	}
	after := srv.Stats()
	if after.Members != members {
		b.Fatalf("%d members left during the benchmark", members-after.Members)
	}
	ns := float64(b.Elapsed().Nanoseconds())
	deliveries := float64(after.FramesOut - before.FramesOut)
	b.ReportMetric(ns/float64(ticks*senders), "ns/event")
	b.ReportMetric(ns/deliveries, "ns/delivery")
	b.ReportMetric(float64(after.WriteCalls-before.WriteCalls)/deliveries, "writes/delivery")
	if batch {
		b.ReportMetric(float64(after.WriteBatches-before.WriteBatches)/float64(ticks), "batches/tick")
	}
}

// memBatchPoller is memPoller with a BatchWriter that makes each write with
// the stream's Writev, as the contract defines a batch.
type memBatchPoller struct{ *memPoller }

func (p memBatchPoller) WriteBatch(ws []kernel.BatchWrite) {
	for i := range ws {
		w := &ws[i]
		w.N, w.Err = w.Stream.(*memStream).Writev(w.Bufs[:])
	}
}

// memPoller returns whatever events the benchmark put in ready. Its clock
// stands still: no timer is due during a benchmark.
type memPoller struct {
	toks        map[kernel.Source]kernel.Token
	listenerTok kernel.Token
	ready       []kernel.Event
}

func (p *memPoller) Register(src kernel.Source, tok kernel.Token, _ kernel.Interest) error {
	if _, ok := src.(*memListener); ok {
		p.listenerTok = tok
	}
	p.toks[src] = tok
	return nil
}

func (p *memPoller) Reregister(src kernel.Source, tok kernel.Token, _ kernel.Interest) error {
	p.toks[src] = tok
	return nil
}

func (p *memPoller) Deregister(src kernel.Source) error {
	delete(p.toks, src)
	return nil
}

func (p *memPoller) Poll(events []kernel.Event, _ time.Duration) (int, error) {
	n := copy(events, p.ready)
	p.ready = p.ready[:copy(p.ready, p.ready[n:])]
	return n, nil
}

func (p *memPoller) Now() time.Duration { return 0 }

// memStream hands out in, then would-block; it takes every write whole and
// keeps only a count, so no write ever blocks or allocates.
type memStream struct {
	in      []byte
	written int
	closed  bool
}

func (s *memStream) Read(p []byte) (int, error) {
	if len(s.in) == 0 {
		return 0, kernel.ErrWouldBlock
	}
	n := copy(p, s.in)
	s.in = s.in[n:]
	return n, nil
}

func (s *memStream) Write(p []byte) (int, error) {
	s.written += len(p)
	return len(p), nil
}

func (s *memStream) Writev(bufs [][]byte) (int, error) {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	s.written += n
	return n, nil
}

func (s *memStream) CloseWrite() error { return nil }
func (s *memStream) Close() error      { s.closed = true; return nil }

var (
	_ kernel.Stream       = (*memStream)(nil)
	_ kernel.VectorWriter = (*memStream)(nil)
	_ kernel.Poller       = (*memPoller)(nil)
	_ kernel.BatchWriter  = memBatchPoller{}
	_ kernel.Listener     = (*memListener)(nil)
)

// memListener accepts the streams in pending, then would-block.
type memListener struct{ pending []kernel.Stream }

func (l *memListener) Accept() (kernel.Stream, error) {
	if len(l.pending) == 0 {
		return nil, kernel.ErrWouldBlock
	}
	s := l.pending[0]
	l.pending = l.pending[1:]
	return s, nil
}

func (l *memListener) Close() error { return nil }
