package netrec_test

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netrec"
	"github.com/mobsim/mobsim/server"
)

// replayCore replays data against a core built with cfg on what wrap makes
// of the replayer and its listener (themselves when wrap is nil), and
// returns the core loop's error and Finish's.
func replayCore(t *testing.T, data []byte, cfg server.Config, wrap func(*netrec.Replayer, kernel.Listener) (kernel.Poller, kernel.Listener)) (runErr, finishErr error) {
	t.Helper()
	return replayCoreOn(t, data, cfg, wrap, false)
}

// replayCoreOn is replayCore for a recording of a core that wrote batches
// when batch is set: the broken core's poller writes batches too.
func replayCoreOn(t *testing.T, data []byte, cfg server.Config, wrap func(*netrec.Replayer, kernel.Listener) (kernel.Poller, kernel.Listener), batch bool) (runErr, finishErr error) {
	t.Helper()
	rp, ln := openReplay(t, data, netrec.ReplayOptions{})
	poller := rp.Poller()
	if wrap != nil {
		poller, ln = wrap(rp, ln)
		if fp, ok := poller.(*flipPoller); ok && batch {
			// Only the batches' writes flip: the broken core is the
			// one whose fan-out differs.
			poller = &flipBatchPoller{flipPoller: fp, at: fp.at}
			fp.at = math.MaxInt
		}
	}
	srv, err := server.New(poller, ln, cfg)
	if err != nil {
		t.Fatal(err)
	}
	runErr = srv.Run(rp.Stop)
	_, finishErr = rp.Finish()
	return runErr, finishErr
}

// A core that differs from the recorded one is caught at its first
// different call, and the report names the step, the call the core made,
// the call recorded, what differs, and both builds. Each case changes the
// core in one way: a larger read buffer, less room for events, a longer
// idle timeout (the poll timeout differs), and a core whose writes carry
// different bytes (a broken variant, made by flipping a byte on the way to
// the replay).
func TestDivergenceReported(t *testing.T) {
	data, _ := recordSession(t, 1, 300, netrec.Options{})
	cases := []struct {
		name    string
		cfg     func(*server.Config)
		wrap    func(*netrec.Replayer, kernel.Listener) (kernel.Poller, kernel.Listener)
		gotOp   netrec.Op
		wantOp  netrec.Op
		details string
	}{
		// A larger buffer: every recorded read fits in it, and still the
		// kernel might have returned more.
		{name: "read size", cfg: func(c *server.Config) { c.ReadBufferBytes = 1024 },
			gotOp: netrec.OpRead, wantOp: netrec.OpRead, details: "buffer of 1024 bytes, recorded 512"},
		{name: "poll timeout", cfg: func(c *server.Config) { c.IdleTimeout += 50 * time.Millisecond },
			gotOp: netrec.OpPoll, wantOp: netrec.OpPoll, details: "timeout 198ms, recorded 148ms"},
		{name: "poll room", cfg: func(c *server.Config) { c.EventsPerTickMax = 8 },
			gotOp: netrec.OpPoll, wantOp: netrec.OpPoll, details: "room for 8 events, recorded 16"},
		{name: "write bytes", wrap: flipAt(5),
			gotOp: netrec.OpWrite, wantOp: netrec.OpWrite, details: "written bytes differ at byte 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := sessionConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			runErr, err := replayCore(t, data, cfg, tc.wrap)
			var d *netrec.Divergence
			if !errors.As(err, &d) {
				t.Fatalf("Finish: %v, want a divergence", err)
			}
			if !errors.Is(runErr, netrec.ErrDiverged) {
				t.Errorf("the core's loop returned %v, want the divergence", runErr)
			}
			if d.Got.Op != tc.gotOp || d.Want.Op != tc.wantOp || d.Detail != tc.details {
				t.Errorf("divergence %v: got %v want %v detail %q", d, d.Got.Op, d.Want.Op, d.Detail)
			}
			msg := d.Error()
			for _, part := range []string{"step ", d.Got.String(), d.Want.String(), "recorded by", "replayed by"} {
				if !strings.Contains(msg, part) {
					t.Errorf("report %q lacks %q", msg, part)
				}
			}
			if d.Step == 0 {
				t.Error("divergence at step 0")
			}
			t.Log(msg)
		})
	}
}

// A core that stops while the recording goes on has diverged too, as has
// one that wants more in the middle of a tick at the end record.
func TestDivergenceAtTheEnds(t *testing.T) {
	data, _ := recordSession(t, 2, 100, netrec.Options{})
	rp, ln := openReplay(t, data, netrec.ReplayOptions{})
	srv, err := server.New(rp, ln, sessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if err := srv.Tick(); err != nil {
			t.Fatal(err)
		}
	}
	_, err = rp.Finish()
	var d *netrec.Divergence
	if !errors.As(err, &d) || d.Got.Op != 0 || d.Detail != "the core stopped; the recording goes on" {
		t.Fatalf("Finish after 10 ticks: %v", err)
	}

	// A recording of one tick, then a core that makes one call too many:
	// a read, which a new tick cannot start with.
	k := &scriptKernel{streams: []*scriptStream{{readErr: kernel.ErrWouldBlock}}}
	var buf bytes.Buffer
	rec, _ := netrec.NewRecorder(&buf, k, netrec.Options{})
	rln := rec.Listener(k)
	rec.Poll(make([]kernel.Event, 4), -1)
	rln.Accept()
	rec.Close()
	rp, err = netrec.NewReplayer(bytes.NewReader(buf.Bytes()), netrec.ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pln, _ := rp.Listener()
	if _, err := rp.Poll(make([]kernel.Event, 4), -1); err != nil {
		t.Fatal(err)
	}
	st, err := pln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	st.Read(make([]byte, 8)) // mid-tick, past the end
	if !errors.As(rp.Err(), &d) || d.Want.Op != netrec.OpEnd || d.Got.Op != netrec.OpRead {
		t.Fatalf("a Read past the end: %v", rp.Err())
	}
	if _, err := rp.Poll(make([]kernel.Event, 4), -1); !errors.Is(err, netrec.ErrDiverged) {
		t.Fatalf("the next Poll returned %v, want the divergence again", err)
	}
	// The same recording, and a core that starts a new tick: a clean end.
	rp, _ = netrec.NewReplayer(bytes.NewReader(buf.Bytes()), netrec.ReplayOptions{})
	pln, _ = rp.Listener()
	rp.Poll(make([]kernel.Event, 4), -1)
	pln.Accept()
	rp.Now()
	if _, err := rp.Finish(); err != nil || !errors.Is(rp.Err(), netrec.ErrEnd) {
		t.Fatalf("a Now past the end: %v, %v", err, rp.Err())
	}
}

func flipAt(at int) func(*netrec.Replayer, kernel.Listener) (kernel.Poller, kernel.Listener) {
	return func(rp *netrec.Replayer, ln kernel.Listener) (kernel.Poller, kernel.Listener) {
		p := &flipPoller{Replayer: rp, at: at}
		return p, flipListener{Listener: ln, p: p}
	}
}

// flipPoller is a broken core's view: from the at-th write on, it flips the
// first byte of what the core writes before the replay sees it.
type flipPoller struct {
	*netrec.Replayer
	at, writes int
}

func (p *flipPoller) Register(src kernel.Source, tok kernel.Token, in kernel.Interest) error {
	switch f := src.(type) {
	case *flipStream:
		src = f.Stream
	case flipListener:
		src = f.Listener
	}
	return p.Replayer.Register(src, tok, in)
}

// Listener wraps the replayed listener so accepted streams flip bytes.
type flipListener struct {
	kernel.Listener
	p *flipPoller
}

func (l flipListener) Accept() (kernel.Stream, error) {
	st, err := l.Listener.Accept()
	if err != nil {
		return st, err
	}
	return &flipStream{Stream: st, p: l.p}, nil
}

type flipStream struct {
	kernel.Stream
	p *flipPoller
}

func (s *flipStream) Write(b []byte) (int, error) {
	if s.p.writes++; s.p.writes >= s.p.at && len(b) > 0 {
		c := append([]byte(nil), b...)
		c[0] ^= 0x20
		b = c
	}
	return s.Stream.Write(b)
}

// flipBatchPoller is flipPoller for a core that writes batches: it flips
// the first byte of each write of a batch from the at-th such write on,
// and hands the replay its own streams.
type flipBatchPoller struct {
	*flipPoller
	at, n int
}

func (p *flipBatchPoller) WriteBatch(ws []kernel.BatchWrite) {
	saved := make([]kernel.BatchWrite, len(ws))
	copy(saved, ws)
	for i := range ws {
		w := &ws[i]
		if f, ok := w.Stream.(*flipStream); ok {
			w.Stream = f.Stream
		}
		if p.n++; p.n >= p.at && len(w.Bufs[0]) > 0 {
			c := append([]byte(nil), w.Bufs[0]...)
			c[0] ^= 0x20
			w.Bufs[0] = c
		}
	}
	p.Replayer.Poller().(kernel.BatchWriter).WriteBatch(ws)
	for i := range ws {
		ws[i].Stream, ws[i].Bufs = saved[i].Stream, saved[i].Bufs
	}
}

// Writev passes through: every stream of a netfake recording has it.
func (s *flipStream) Writev(bufs [][]byte) (int, error) {
	return s.Stream.(kernel.VectorWriter).Writev(bufs)
}

// UnackedBytes and Abort pass through too: every stream of a netfake
// recording has them.
func (s *flipStream) UnackedBytes() (int, error) {
	return s.Stream.(kernel.UnackedCounter).UnackedBytes()
}

func (s *flipStream) Abort() error { return s.Stream.(kernel.Aborter).Abort() }
