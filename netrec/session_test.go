package netrec_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
	"github.com/mobsim/mobsim/netrec"
	"github.com/mobsim/mobsim/server"
)

// This file scripts a session of the real server core on netfake, recorded,
// and replays a recording against a fresh core. The session is meant to
// make every kind of record and every error the core tests with errors.Is:
// short reads and writes, would-block, spurious and duplicate events,
// EINTR from Poll, ECONNABORTED and EMFILE from Accept, resets (ECONNRESET,
// EPIPE), FINs (io.EOF), a slow reader cut at the queue limit, a protocol
// error, idle and linger timers, and a graceful shutdown.

// sessionConfig is the core's config for the session; the replay must use
// the same one (the recording's header holds its name).
func sessionConfig() server.Config {
	cfg := server.DefaultConfig()
	cfg.FrameBytesMax = 200
	cfg.QueueBytesMax = 2 << 10
	cfg.ConnsMax = 5
	cfg.IdleTimeout = 150 * time.Millisecond
	cfg.LingerTimeout = 40 * time.Millisecond
	cfg.ShutdownTimeout = 100 * time.Millisecond
	cfg.EventsPerTickMax = 16
	cfg.ReadBufferBytes = 512
	cfg.ReadBytesPerTickMax = 1 << 10
	cfg.WriteCallsPerTickMax = 3
	return cfg
}

type session struct {
	t       testing.TB
	rng     *rand.Rand
	k       *netfake.Kernel
	ln      *netfake.Listener
	rec     *netrec.Recorder
	srv     *server.Server
	clients []*netfake.Client
	buf     []byte
	ticks   int
}

// sessionKernel is the fake kernel's shape: small buffers so writes are
// short and would block, Linux edges and kqueue-shaped batches so events
// come twice, and a fault plan that makes every error kind.
func sessionKernel(seed uint64) *netfake.Kernel {
	return netfake.New(rand.New(rand.NewPCG(seed, 1)), netfake.Config{
		Edge: netfake.EdgeLinux, Batch: netfake.BatchKqueue, FDMax: 8,
		RecvBufBytes: 300, SendBufBytes: 200, ClientRecvBufBytes: 400, ClientSendBufBytes: 300,
		Faults: netfake.FaultPlan{ShortRead: 0.2, ShortWrite: 0.2, SpuriousReady: 0.1, SpuriousToken: 0.05,
			Reset: 0.005, Pipe: 0.005, Interrupt: 0.05, Abort: 0.2, MFile: 0.05},
	})
}

// cappedPoller keeps a Poll from moving the fake clock by more than a
// millisecond: netfake jumps to the timeout when nothing is pending, which
// would idle every member out at the first quiet tick. The recorder wraps
// it, so the recording holds the timeouts the core asked for.
type cappedPoller struct{ *netfake.Kernel }

func (p cappedPoller) Poll(events []kernel.Event, timeout time.Duration) (int, error) {
	return p.Kernel.Poll(events, min(timeout, time.Millisecond))
}

// newSession builds the recorded core on a fresh fake kernel, writing the
// recording to w. The core is given the recorder alone, so it writes one
// write at a time; newBatchSession gives it the kernel's batches too.
func newSession(t testing.TB, seed uint64, w io.Writer, opt netrec.Options) *session {
	t.Helper()
	return newSessionOn(t, seed, w, opt, false)
}

func newSessionOn(t testing.TB, seed uint64, w io.Writer, opt netrec.Options, batch bool) *session {
	t.Helper()
	s := &session{t: t, rng: rand.New(rand.NewPCG(seed, 2)), k: sessionKernel(seed), buf: make([]byte, 256)}
	ln, err := s.k.Listen(8)
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	if opt.Config == nil {
		opt.Config = []byte("sessionConfig")
	}
	opt.Batches = batch
	rec, err := netrec.NewRecorder(w, cappedPoller{s.k}, opt)
	if err != nil {
		t.Fatal(err)
	}
	s.rec = rec
	cfg := sessionConfig()
	cfg.Observer = netrec.Observer[server.CloseReason]{N: rec}
	poller := rec.Poller() // with opt.Batches, netfake's batches: the core's fan-out is one per tick
	srv, err := server.New(poller, rec.Listener(ln), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.srv = srv
	return s
}

// step does one round of client work, transmission and a server tick.
func (s *session) step() {
	s.t.Helper()
	r := s.rng
	live := s.clients[:0]
	for _, cl := range s.clients {
		if cl.WasReset() || cl.GotEOF() {
			cl.Close() // the server is done with it: make room for another
		}
		if !cl.Closed() {
			live = append(live, cl)
		}
	}
	s.clients = live
	if len(s.clients) < 9 && r.IntN(4) == 0 {
		if cl, err := s.k.Connect(s.ln); err == nil {
			s.clients = append(s.clients, cl)
		}
	}
	for i, cl := range s.clients {
		if cl.Closed() {
			continue
		}
		switch x := r.IntN(1000); {
		case x < 400:
			msg := fmt.Appendf(nil, "c%d says %d ", i, s.ticks)
			msg = append(msg, bytes.Repeat([]byte{'a' + byte(i)}, r.IntN(120))...)
			if i%6 == 3 && r.IntN(30) == 0 {
				msg = bytes.Repeat([]byte("x"), 250) // over FrameBytesMax
			}
			cl.Write(append(msg, '\n'))
		case x < 402:
			cl.ShutdownWrite()
		case x < 404 && i%4 == 1:
			cl.Reset()
			continue
		case x < 406 && i%4 == 2:
			cl.Close()
			continue
		}
		if i%5 != 4 { // every fifth client never reads: it falls behind
			for {
				n, err := cl.Read(s.buf)
				if n == 0 || err != nil {
					break
				}
			}
		}
	}
	s.k.Step()
	s.tick()
	s.k.Advance(time.Duration(r.IntN(3)) * time.Millisecond)
}

func (s *session) tick() {
	s.t.Helper()
	s.ticks++
	if err := s.srv.Tick(); err != nil {
		s.t.Fatalf("tick %d: %v", s.ticks, err)
	}
}

// finish shuts the core down as a live loop would (recording the request),
// drains with faults off, and closes the recording.
func (s *session) finish() {
	s.t.Helper()
	s.k.SetFaults(netfake.FaultPlan{})
	s.rec.Shutdown()
	s.srv.Shutdown()
	for i := 0; !s.srv.Done(); i++ {
		if i > 10_000 {
			s.t.Fatal("shutdown did not finish")
		}
		for _, cl := range s.clients {
			for !cl.Closed() {
				n, err := cl.Read(s.buf)
				if n == 0 || err != nil {
					break
				}
			}
		}
		s.k.Flush()
		s.tick()
		s.k.Advance(time.Millisecond)
	}
	if err := s.rec.Close(); err != nil {
		s.t.Fatal(err)
	}
}

// recordSession runs a whole session of the given length and returns the
// recording and the core's final counters.
func recordSession(t testing.TB, seed uint64, steps int, opt netrec.Options) ([]byte, server.Stats) {
	t.Helper()
	return recordSessionOn(t, seed, steps, opt, false)
}

func recordSessionOn(t testing.TB, seed uint64, steps int, opt netrec.Options, batch bool) ([]byte, server.Stats) {
	t.Helper()
	var buf bytes.Buffer
	s := newSessionOn(t, seed, &buf, opt, batch)
	for range steps {
		s.step()
	}
	s.finish()
	return buf.Bytes(), s.srv.Stats()
}

// replayResult is what a replay gives back.
type replayResult struct {
	stats   server.Stats
	kernel  kernelTally // what the replay told its KernelObserver
	summary netrec.Summary
	err     error  // from Finish: nil means zero divergence
	trace   []byte // every record's text, as the replay passed it
}

// openReplay starts a replay of data and takes its listener.
func openReplay(t testing.TB, data []byte, opt netrec.ReplayOptions) (*netrec.Replayer, kernel.Listener) {
	t.Helper()
	rp, err := netrec.NewReplayer(bytes.NewReader(data), opt)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := rp.Listener()
	if err != nil {
		t.Fatal(err)
	}
	return rp, ln
}

// replaySession builds a fresh core on a replay of data and runs it to the
// end, as mobsim -replay will.
func replaySession(t testing.TB, data []byte, opt netrec.ReplayOptions) replayResult {
	t.Helper()
	var res replayResult
	opt.OnRecord = func(rec *netrec.Record) {
		res.trace = append(rec.AppendText(res.trace), '\n')
	}
	opt.Observer = &res.kernel
	rp, ln := openReplay(t, data, opt)
	if got := string(rp.Header().Config); got != "sessionConfig" {
		t.Fatalf("header config %q", got)
	}
	cfg := sessionConfig()
	if opt.MatchNotes {
		cfg.Observer = netrec.Observer[server.CloseReason]{N: rp}
	}
	srv, err := server.New(rp.Poller(), ln, cfg)
	if err != nil {
		t.Fatal(err)
	}
	runErr := srv.Run(rp.Stop)
	res.summary, res.err = rp.Finish()
	if res.err == nil && runErr != nil && !errors.Is(runErr, netrec.ErrEnd) && !errors.Is(runErr, netrec.ErrStopped) {
		t.Fatalf("run: %v", runErr)
	}
	res.stats = srv.Stats()
	return res
}

// kernelTally is a KernelObserver that adds up what it is told, to compare
// with the core's own counters.
type kernelTally struct {
	accepted, closedWrite, closed, resets int
	read, wrote                           uint64
}

func (k *kernelTally) Accepted(uint64)          { k.accepted++ }
func (k *kernelTally) Read(_ uint64, p []byte)  { k.read += uint64(len(p)) }
func (k *kernelTally) Wrote(_ uint64, p []byte) { k.wrote += uint64(len(p)) }
func (k *kernelTally) ClosedWrite(uint64)       { k.closedWrite++ }
func (k *kernelTally) Closed(uint64)            { k.closed++ }
func (k *kernelTally) Reset(uint64)             { k.resets++ }

// eachRecord calls fn with every record of a recording, in order.
func eachRecord(t testing.TB, data []byte, fn func(*netrec.Record)) {
	t.Helper()
	rd, err := netrec.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(rec)
	}
}

// dump prints every record of a recording, one per line.
func dump(t testing.TB, data []byte) []byte {
	t.Helper()
	var out []byte
	eachRecord(t, data, func(rec *netrec.Record) { out = append(rec.AppendText(out), '\n') })
	return out
}

// writtenBytes adds up what the recording says each write took: the
// server's BytesOut plus the messages it wrote to connections it turned
// away (which it does not count).
func writtenBytes(t testing.TB, data []byte) uint64 {
	t.Helper()
	var n uint64
	eachRecord(t, data, func(rec *netrec.Record) {
		if rec.Op == netrec.OpWrite || rec.Op == netrec.OpWritev {
			n += uint64(rec.N)
		}
		for _, it := range rec.Batch {
			n += uint64(it.N)
		}
	})
	return n
}

// opCounts counts a recording's records by kind, and its errors by text.
func opCounts(t testing.TB, data []byte) (map[netrec.Op]int, map[string]int) {
	t.Helper()
	ops, errs := map[netrec.Op]int{}, map[string]int{}
	eachRecord(t, data, func(rec *netrec.Record) {
		ops[rec.Op]++
		if rec.Err != nil {
			errs[errClass(rec.Err)]++
		}
	})
	return ops, errs
}

// errClass names an error by the errors.Is test it passes.
func errClass(err error) string {
	for _, c := range errClasses {
		if errors.Is(err, c) {
			return c.Error()
		}
	}
	return "other: " + err.Error()
}

var errClasses = []error{kernel.ErrWouldBlock, kernel.ErrInterrupted, io.EOF, errnoReset, errnoPipe, errnoAborted, errnoMFile, errnoNotConn}
