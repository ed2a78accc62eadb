package netrec_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netrec"
	"github.com/mobsim/mobsim/server"
)

// Benchmarks of the recorder's cost and the log's size, apart from any real
// kernel, and of replay speed. They assert nothing but that recording does
// not allocate; timing belongs here, not in tests.

// benchDigestEvery is the sample of digests the counts mode takes in the
// benchmarks: cmd/mob's default.
const benchDigestEvery = 64

// benchMode is the write mode a benchmark's mode name stands for.
func benchMode(name string) netrec.WriteMode {
	m, err := netrec.ParseWriteMode(name)
	if err != nil {
		panic(err)
	}
	return m
}

// countWriter counts what the recorder writes and keeps none of it.
type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// noCap is a size cap no benchmark reaches.
const noCap = 1 << 62

// benchRecorder records on k to a counting writer.
func benchRecorder(b *testing.B, k kernel.Poller) (*netrec.Recorder, *countWriter) {
	b.Helper()
	w := &countWriter{}
	rec, err := netrec.NewRecorder(w, k, netrec.Options{LogBytesMax: noCap})
	if err != nil {
		b.Fatal(err)
	}
	return rec, w
}

// BenchmarkRecordCall measures one seam call bare and through the
// recorder, on a scripted kernel whose calls cost almost nothing: the
// difference is the recorder's cost per call. Reads return 64 bytes, writes
// take 64 (writev: three buffers of 64, 64 and 16), polls return 8 events.
func BenchmarkRecordCall(b *testing.B) {
	p := bytes.Repeat([]byte("x"), 64)
	iov := [][]byte{p, p, p[:16]}
	events := make([]kernel.Event, 256)
	calls := []struct {
		name string
		call func(kernel.Poller, kernel.Stream)
	}{
		{"read", func(_ kernel.Poller, st kernel.Stream) { st.Read(p) }},
		{"read-wouldblock", nil},
		{"write", func(_ kernel.Poller, st kernel.Stream) { st.Write(p) }},
		{"writev", func(_ kernel.Poller, st kernel.Stream) { st.(kernel.VectorWriter).Writev(iov) }},
		{"poll", func(k kernel.Poller, _ kernel.Stream) { k.Poll(events, -1) }},
		{"now", func(k kernel.Poller, _ kernel.Stream) { k.Now() }},
	}
	for _, c := range calls {
		for _, recorded := range []bool{false, true} {
			name := c.name + "/bare"
			if recorded {
				name = c.name + "/recorded"
			}
			b.Run(name, func(b *testing.B) {
				ss := &scriptStream{readData: p, vector: true}
				call := c.call
				if call == nil { // a read that would block: the most common call of all
					ss.readErr = kernel.ErrWouldBlock
					call = func(_ kernel.Poller, st kernel.Stream) { st.Read(p) }
				}
				k := &scriptKernel{streams: []*scriptStream{ss}}
				for i := range 8 {
					k.batch = append(k.batch, kernel.Event{Token: kernel.Token(uint64(i+1)<<32 | uint64(i)), Ready: kernel.ReadyRead})
				}
				var poller kernel.Poller = k
				var ln kernel.Listener = k
				var w *countWriter
				if recorded {
					var rec *netrec.Recorder
					rec, w = benchRecorder(b, k)
					poller, ln = rec, rec.Listener(k)
				}
				st, err := ln.Accept()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				var start int64
				if w != nil {
					start = w.n
				}
				for b.Loop() {
					call(poller, st)
				}
				if w != nil {
					b.ReportMetric(float64(w.n-start)/float64(b.N), "logB/op")
				}
			})
		}
	}
}

// TestRecordingDoesNotAllocate holds the recorder to its promise outside
// the benchmarks too: steady-state Read, Write, Writev, WriteBatch, Poll
// and Now, recorded, allocate nothing.
func TestRecordingDoesNotAllocate(t *testing.T) {
	p := bytes.Repeat([]byte("x"), 64)
	iov := [][]byte{p, p[:7]}
	k := &scriptKernel{streams: []*scriptStream{{readData: p, vector: true}, {readErr: kernel.ErrWouldBlock, vector: true}},
		batch: []kernel.Event{{Token: 1<<32 | 5, Ready: kernel.ReadyRead}}}
	rec, err := netrec.NewRecorder(io.Discard, scriptBatchKernel{k}, netrec.Options{LogBytesMax: noCap, Batches: true})
	if err != nil {
		t.Fatal(err)
	}
	ln := rec.Listener(k)
	st, _ := ln.Accept()
	idle, _ := ln.Accept()
	events := make([]kernel.Event, 16)
	bw := rec.Poller().(kernel.BatchWriter)
	ws := []kernel.BatchWrite{{Stream: st, Bufs: [kernel.BatchBufsMax][]byte{p, p[:7]}}, {Stream: idle, Bufs: [kernel.BatchBufsMax][]byte{p}}}
	allocs := testing.AllocsPerRun(10_000, func() {
		st.Read(p)
		idle.Read(p)
		st.Write(p)
		st.(kernel.VectorWriter).Writev(iov)
		bw.WriteBatch(ws)
		rec.Poll(events, time.Millisecond)
		rec.Now()
	})
	if allocs != 0 {
		t.Fatalf("recording allocates %.1f times per round of calls", allocs)
	}
}

// fanKernel is a kernel with no cost of its own for the fan-out benchmark:
// each tick the senders' streams hold a batch of frames, the poll reports
// them readable, and every write is taken whole.
type fanKernel struct {
	pending []kernel.Stream // for Accept
	lnTok   kernel.Token
	senders []*fanStream
	sending bool // every member has joined: the senders send
	batch   []kernel.Event
}

type fanStream struct {
	tok   kernel.Token
	in    []byte // what the next Read returns, then would-block
	frame []byte // what each tick gives a sender
}

func (k *fanKernel) Register(src kernel.Source, tok kernel.Token, _ kernel.Interest) error {
	switch s := src.(type) {
	case *fanStream:
		s.tok = tok
	case *fanKernel:
		s.lnTok = tok
	}
	return nil
}
func (k *fanKernel) Reregister(kernel.Source, kernel.Token, kernel.Interest) error { return nil }
func (k *fanKernel) Deregister(kernel.Source) error                                { return nil }
func (k *fanKernel) Now() time.Duration                                            { return 0 }
func (k *fanKernel) Close() error                                                  { return nil }

func (k *fanKernel) Poll(events []kernel.Event, _ time.Duration) (int, error) {
	k.batch = k.batch[:0]
	if len(k.pending) > 0 {
		k.batch = append(k.batch, kernel.Event{Token: k.lnTok, Ready: kernel.ReadyRead})
	}
	for _, s := range k.senders {
		if k.sending {
			s.in = s.frame
			k.batch = append(k.batch, kernel.Event{Token: s.tok, Ready: kernel.ReadyRead | kernel.ReadyWrite})
		}
	}
	return copy(events, k.batch), nil
}

func (k *fanKernel) Accept() (kernel.Stream, error) {
	if len(k.pending) == 0 {
		return nil, kernel.ErrWouldBlock
	}
	s := k.pending[0]
	k.pending = k.pending[1:]
	return s, nil
}

func (s *fanStream) Read(p []byte) (int, error) {
	if len(s.in) == 0 {
		return 0, kernel.ErrWouldBlock
	}
	n := copy(p, s.in)
	s.in = s.in[n:]
	return n, nil
}

func (s *fanStream) Write(p []byte) (int, error) { return len(p), nil }
func (s *fanStream) Writev(bufs [][]byte) (int, error) {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n, nil
}
func (s *fanStream) CloseWrite() error { return nil }
func (s *fanStream) Close() error      { return nil }

// fanout is one fan-out workload: members connections, senders of them
// sending frames 64-byte frames each tick.
type fanout struct{ members, senders, frames int }

func (f fanout) String() string {
	return fmt.Sprintf("members=%d/senders=%d/frames=%d", f.members, f.senders, f.frames)
}

var fanouts = []fanout{{100, 1, 1}, {100, 10, 1}, {100, 100, 8}}

// newFanout builds the core on a fan kernel, through a recorder to w when
// w is not nil, with every member joined.
func newFanout(tb testing.TB, f fanout, w io.Writer, mode netrec.WriteMode) (*server.Server, *netrec.Recorder) {
	tb.Helper()
	k := &fanKernel{}
	frame := bytes.Repeat(append(bytes.Repeat([]byte("m"), 63), '\n'), f.frames)
	for i := range f.members {
		s := &fanStream{}
		if i < f.senders {
			s.frame = frame
			k.senders = append(k.senders, s)
		}
		k.pending = append(k.pending, s)
	}
	var poller kernel.Poller = k
	var ln kernel.Listener = k
	var rec *netrec.Recorder
	if w != nil {
		var err error
		rec, err = netrec.NewRecorder(w, k, netrec.Options{LogBytesMax: noCap, Writes: mode, DigestEvery: benchDigestEvery})
		if err != nil {
			tb.Fatal(err)
		}
		poller, ln = rec, rec.Listener(k)
	}
	cfg := server.DefaultConfig()
	cfg.IdleTimeout = -1
	cfg.ConnsMax = f.members
	srv, err := server.New(poller, ln, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	for range 1 + f.members/cfg.AcceptsPerTickMax {
		if err := srv.Tick(); err != nil {
			tb.Fatal(err)
		}
	}
	if srv.Stats().Members != f.members {
		tb.Fatalf("%d of %d joined", srv.Stats().Members, f.members)
	}
	k.sending = true
	return srv, rec
}

// BenchmarkFanout measures the core's broadcast path per delivery (a frame
// queued and written to one member) bare and recorded, and the log's size
// per frame read and per delivery. The kernel costs nothing, so the
// recorded/bare difference is the recorder's whole share; on a real kernel
// (a syscall per read and write) it is a smaller fraction.
func BenchmarkFanout(b *testing.B) {
	for _, f := range fanouts {
		for _, mode := range []string{"bare", "contents", "digests", "counts"} {
			b.Run(f.String()+"/"+mode, func(b *testing.B) {
				var w *countWriter
				var srv *server.Server
				if mode == "bare" {
					srv, _ = newFanout(b, f, nil, 0)
				} else {
					w = &countWriter{}
					srv, _ = newFanout(b, f, w, benchMode(mode))
				}
				for range 32 { // warm up: the ring and the queues reach their size
					if err := srv.Tick(); err != nil {
						b.Fatal(err)
					}
				}
				before := srv.Stats()
				var logStart int64
				if w != nil {
					logStart = w.n
				}
				b.ReportAllocs()
				for b.Loop() {
					if err := srv.Tick(); err != nil {
						b.Fatal(err)
					}
				}
				after := srv.Stats()
				deliveries := float64(after.FramesOut - before.FramesOut)
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/deliveries, "ns/delivery")
				if w != nil {
					logBytes := float64(w.n - logStart)
					b.ReportMetric(logBytes/deliveries, "logB/delivery")
					b.ReportMetric(logBytes/float64(after.FramesIn-before.FramesIn), "logB/frame-read")
				}
			})
		}
	}
}

// TestFanoutLogSize checks that the log is compact on fan-out workloads,
// and logs the figures: bytes of log per delivery and per frame read, and
// per kind of record how much is overhead beyond the bytes read or written.
// A Read or Write record adds at most recordOverheadMax bytes to its data,
// digests make the log at least 4 times smaller per delivery, and counts
// no larger than digests.
func TestFanoutLogSize(t *testing.T) {
	const recordOverheadMax = 16
	modes := []netrec.WriteMode{netrec.WriteContents, netrec.WriteDigests, netrec.WriteCounts}
	perDelivery := map[netrec.WriteMode][]float64{}
	for _, mode := range modes {
		contents := mode == netrec.WriteContents
		for _, f := range fanouts {
			var buf bytes.Buffer
			srv, rec := newFanout(t, f, &buf, mode)
			before := srv.Stats()
			start := rec.Stats().Bytes
			for range 20 {
				if err := srv.Tick(); err != nil {
					t.Fatal(err)
				}
			}
			rec.Close()
			after := srv.Stats()
			type tally struct{ n, bytes, payload int }
			var by [32]tally
			eachRecord(t, buf.Bytes(), func(r *netrec.Record) {
				by[r.Op].n++
				by[r.Op].bytes += r.Size
				by[r.Op].payload += len(r.Data)
			})
			logBytes := float64(rec.Stats().Bytes - start)
			d := logBytes / float64(after.FramesOut-before.FramesOut)
			perDelivery[mode] = append(perDelivery[mode], d)
			t.Logf("%v %v: %.1f log bytes per delivery, %.1f per frame read", f, mode,
				d, logBytes/float64(after.FramesIn-before.FramesIn))
			for op, x := range by {
				if x.n == 0 {
					continue
				}
				over := float64(x.bytes-x.payload) / float64(x.n)
				t.Logf("  %-8v %7d records %8.1f bytes each, %5.1f of them overhead", netrec.Op(op), x.n, float64(x.bytes)/float64(x.n), over)
				if op == int(netrec.OpRead) || (contents && (op == int(netrec.OpWrite) || op == int(netrec.OpWritev))) {
					if over > recordOverheadMax {
						t.Errorf("%v: a %v record adds %.1f bytes to its data", f, netrec.Op(op), over)
					}
				}
			}
		}
	}
	for i, f := range fanouts {
		contents, digests, counts := perDelivery[netrec.WriteContents][i], perDelivery[netrec.WriteDigests][i], perDelivery[netrec.WriteCounts][i]
		if digests*4 > contents || counts > digests {
			t.Errorf("%v: %.1f log bytes per delivery with digests, %.1f with contents, %.1f with counts", f, digests, contents, counts)
		}
	}
}

// BenchmarkReplay measures replay speed: a recording of fan-out ticks (500,
// or 40 of the saturated shape) replayed against a fresh core, in records
// per second, with write contents, digests and counts; and the reader alone.
func BenchmarkReplay(b *testing.B) {
	for _, f := range fanouts {
		for _, mode := range []netrec.WriteMode{netrec.WriteContents, netrec.WriteDigests, netrec.WriteCounts} {
			ticks := 500
			if f.senders*f.frames > 100 {
				ticks = 40
			}
			var buf bytes.Buffer
			srv, rec := newFanout(b, f, &buf, mode)
			for range ticks {
				if err := srv.Tick(); err != nil {
					b.Fatal(err)
				}
			}
			rec.Close()
			records := rec.Stats().Records
			data := buf.Bytes()
			name := f.String() + "/" + mode.String()
			b.Run(name+"/core", func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					rp, err := netrec.NewReplayer(bytes.NewReader(data), netrec.ReplayOptions{})
					if err != nil {
						b.Fatal(err)
					}
					ln, _ := rp.Listener()
					cfg := server.DefaultConfig()
					cfg.IdleTimeout = -1
					cfg.ConnsMax = f.members
					srv, err := server.New(rp, ln, cfg)
					if err != nil {
						b.Fatal(err)
					}
					runErr := srv.Run(rp.Stop)
					if _, err := rp.Finish(); err != nil || !errors.Is(runErr, netrec.ErrEnd) {
						b.Fatalf("replay: %v, %v", runErr, err)
					}
				}
				b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			})
			b.Run(name+"/reader", func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					if n, err := readAll(data); err != nil || uint64(n) != records {
						b.Fatalf("read %d of %d records: %v", n, records, err)
					}
				}
				b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}
