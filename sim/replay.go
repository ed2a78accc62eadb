package sim

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mobsim/mobsim/bugs"
	"github.com/mobsim/mobsim/internal/recfile"
	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netrec"
	"github.com/mobsim/mobsim/oracle"
	"github.com/mobsim/mobsim/server"
)

// A replay runs the server core against a recording of the live server
// (package netrec; cmd/mob -record, cmd/mobsoak -record) instead of a
// kernel, and checks the recorded history with the oracle a seed is
// checked with. The recording is the world: the kernel's record is its
// records, the clock is its recorded Now, the steps are its record
// indexes; the server's claims come from the replayed core (its
// membership claims must be the ones recorded: notes are matched); the clients' side comes from the
// clients' account beside the recording, when there is one.

// ReplayOptions are the switches of a replay; none changes its outcome.
type ReplayOptions struct {
	// Trace, if set, receives every record as the replay reaches it.
	Trace func(TraceEvent)
	// Accounts is the clients' account of the recording (see
	// recfile.Account); nil: none, and the checks that need the clients'
	// side are off (see ReplayAccountChecks).
	Accounts []recfile.Account
}

// ReplayAccountChecks is what a clients' account adds to a replay, checked
// once the recording has ended cleanly: every connection a client made
// was accepted; the kernel carried each connection's bytes unaltered both
// ways (what a client received is a prefix of what the server wrote, CRC
// for CRC; what the server read is never more than its client sent, and
// is all of it, CRC for CRC, when the client sent a FIN the server read);
// and after a close that promises the flush, a client that read to the
// end of stream received every byte written to it, so that a survivor of
// the run, which leaves with a FIN and reads to the end, was served all
// the oracle found it owed. An end of stream after any other close proves
// nothing on Linux: after an RST the error goes to the first call that
// asks (a client's write, say) and later reads see an end of stream, so
// only the prefix rule holds there. Without an account a replay checks
// only what the kernel told the server.
const ReplayAccountChecks = "every client accepted, kernel fidelity both ways, the flush promise at the client"

// ReplayReport is the outcome of replaying one recording.
type ReplayReport struct {
	Path      string
	Recorded  netrec.Build // the binary that recorded
	Replaying netrec.Build // this one
	Core      recfile.Core // the recorded configuration
	// Violation is the first broken invariant, with the record index as
	// its step, in the oracle's words (the same as for a seed).
	Violation *Violation
	// Divergence is the first call the core made that the recording does
	// not have next: the core is not deterministic given its inputs, or
	// this binary differs from the recording one (Recorded, Replaying).
	Divergence *netrec.Divergence
	// Err says the recording cannot be replayed at all: damaged, another
	// format version, a config this build refuses, bugs only the catalog
	// build has.
	Err error
	// End is how the recording ends: "end" (the live loop stopped), "stop:
	// ..." (the size cap; the live run went on unrecorded) or "truncated"
	// (the process died, or the core panicked).
	End       string
	Records   uint64        // records replayed
	Calls     uint64        // seam calls among them, each write of a batch counted
	Ticks     uint64        // the core's ticks
	Frames    int           // frames the oracle saw enter the global order
	Span      time.Duration // the recorded clock's last reading: the live run's length
	TraceHash uint64        // FNV-1a of the trace, whether or not it was printed
	Accounts  int           // connections the clients' account joined
	Stats     server.Stats  // the replayed core's counters at the end
}

// OK reports whether the recording replayed whole with no divergence and
// no violation.
func (r ReplayReport) OK() bool { return r.Err == nil && r.Divergence == nil && r.Violation == nil }

// ReplayFileCommand is the command that replays the recording at path
// with its trace: through the catalog build if it has bugs switched on.
func ReplayFileCommand(path string, bugs []string) string {
	if len(bugs) > 0 {
		return fmt.Sprintf("%s run ./cmd/mobsim -replay %s -trace", catalogCommand, path)
	}
	return fmt.Sprintf("go run ./cmd/mobsim -replay %s -trace", path)
}

// Replay replays the recording at path, with the clients' account beside
// it (path + recfile.AccountSuffix) if there is one and opt has none.
func Replay(path string, opt ReplayOptions) ReplayReport {
	rep := ReplayReport{Path: path, Replaying: netrec.CurrentBuild()}
	if opt.Accounts == nil {
		accounts, err := readAccounts(path + recfile.AccountSuffix)
		if err != nil {
			rep.Err = err
			return rep
		}
		opt.Accounts = accounts
	}
	f, err := os.Open(path)
	if err != nil {
		rep.Err = fmt.Errorf("replay: %w", err)
		return rep
	}
	defer f.Close()
	return ReplayFrom(f, path, opt)
}

func readAccounts(path string) ([]recfile.Account, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	a, err := recfile.ReadAccounts(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// ReplayFrom replays the recording read from r (named name in the report).
func ReplayFrom(r io.Reader, name string, opt ReplayOptions) (rep ReplayReport) {
	rep = ReplayReport{Path: name, Replaying: netrec.CurrentBuild()}
	p := &replay{name: name, trace: opt.Trace, hash: fnv.New64a(), accounts: opt.Accounts}
	p.streams = newStreamTallies(opt.Accounts)
	rp, err := netrec.NewReplayer(r, netrec.ReplayOptions{MatchNotes: true, OnRecord: p.record, Observer: &p.kernel})
	if err != nil {
		rep.Err = fmt.Errorf("%s: %w", name, err)
		return rep
	}
	p.rp = rp
	hdr := rp.Header()
	rep.Recorded = hdr.Build
	core, err := recfile.Decode(hdr.Config)
	if err != nil {
		rep.Err = fmt.Errorf("%s: %w", name, err)
		return rep
	}
	rep.Core = core
	defer func() {
		if pv := recover(); pv != nil {
			detail := fmt.Sprintf("%v\n%s", pv, trimStack(debug.Stack()))
			if p.o != nil {
				p.o.Fail(InvPanic, "%s", detail)
			} else {
				rep.Violation = &Violation{Invariant: InvPanic, Step: int(p.step), Detail: detail}
			}
			p.finish(&rep)
		}
	}()
	if err := p.build(core); err != nil {
		rep.Err = fmt.Errorf("%s: %w", name, err)
		p.finish(&rep)
		return rep
	}
	p.run()
	p.finish(&rep)
	return rep
}

// replay is one replay's state: the replayer, the core, the oracle, and
// what the trace and the clients' account need.
type replay struct {
	name   string
	rp     *netrec.Replayer
	srv    *server.Server
	o      *oracle.Oracle
	kernel replayKernel
	claims ClaimFeed
	trace  func(TraceEvent)

	hash    hash.Hash64
	line    []byte
	now     time.Duration
	step    uint64
	ticks   uint64
	calls   uint64
	streams streamTallies

	shutdownNow bool // the live loop called Shutdown; its Now not yet passed
	polled      bool // a Poll record was passed and its tick's Now not yet
	pollTimeout time.Duration
	pollEvents  int
	inTick      bool   // a tick slice is open in the trace
	listener    uint64 // the listener's id, traced on the server's track
	accounts    []recfile.Account
	traced      bool // the violation is in the trace
}

// build makes the core on the replayer, with the recorded config, bugs and
// claims wired to the oracle.
func (p *replay) build(core recfile.Core) error {
	ln, err := p.rp.Listener()
	if err != nil {
		return p.diverged(err)
	}
	cfg := core.Server
	cfg.Logger = nil
	cfg.Observer = netrec.Observer[server.CloseReason]{N: p.rp, Then: claimGate{p}, SkipFrames: !core.FrameNotes}
	srv, err := server.New(p.rp.Poller(), ln, cfg)
	if err != nil {
		return p.diverged(err)
	}
	p.srv = srv
	if err := EnableBugs(srv, core.Bugs); errors.Is(err, bugs.ErrNotBuilt) {
		return fmt.Errorf("the recording was made with catalog bugs switched on (%s), which only the catalog build has: %s",
			strings.Join(core.Bugs, ","), ReplayFileCommand(p.name, core.Bugs))
	} else if err != nil {
		return fmt.Errorf("the recording's catalog bugs: %w", err)
	}
	p.o = oracle.New(oracle.Config{Server: srv.Config(), Kernel: true,
		Clock: func() time.Duration { return p.now }, Step: func() int { return int(p.step) }})
	p.kernel = replayKernel{KernelFeed{O: p.o}, &p.streams}
	p.claims.O = p.o
	if p.trace != nil {
		p.claims.Event = p.traceClaim
	}
	return nil
}

// diverged passes a divergence on for finish to report, and any other
// error as the replay's.
func (p *replay) diverged(err error) error {
	if errors.Is(p.rp.Err(), netrec.ErrDiverged) {
		return nil
	}
	return err
}

// run is the live loop (internal/live) on the replayer: ticks until the
// core is done, the shutdown where the live loop called it; with the
// oracle's checks between ticks as in a seed.
func (p *replay) run() {
	if p.srv == nil {
		return
	}
	shutdown := false
	for !p.srv.Done() {
		if !shutdown && p.rp.Stop() {
			// The oracle hears of it at the Now the core's Shutdown reads
			// first: its deadline runs from there (feedRecord).
			p.shutdownNow = true
			p.srv.Shutdown()
			shutdown = true
			continue
		}
		p.o.TickBegin()
		err := p.srv.Tick()
		if err != nil || p.rp.Err() != nil {
			return // the recording ended, or the core left it
		}
		p.ticks++
		p.o.TickEnd()
		if p.o.Violation() == nil {
			if err := p.srv.Check(); err != nil {
				p.o.Fail(InvCore, "%v", err)
			}
		}
	}
}

// finish takes the replayer's verdict, runs the checks that need the
// whole history, and fills in the report.
func (p *replay) finish(rep *ReplayReport) {
	sum, err := p.rp.Finish()
	rep.Records, rep.Calls, rep.End, rep.Ticks, rep.Span = sum.Steps, p.calls, sum.End, p.ticks, p.now
	var d *netrec.Divergence
	switch {
	case errors.As(err, &d):
		rep.Divergence = d
	case err != nil && rep.Err == nil:
		rep.Err = err
	}
	if p.o != nil && err == nil && sum.End == "end" {
		// After a violation these still run; the oracle keeps the first.
		if msg := p.o.Stuck(oracle.Settled{}); msg != "" {
			p.o.Fail(InvLiveness, "%s", msg)
		}
		rep.Accounts = p.streams.check(p.o)
	}
	if p.o != nil {
		rep.Violation = p.o.Violation()
		rep.Frames = p.o.Frames()
	}
	if p.srv != nil {
		rep.Stats = p.srv.Stats()
	}
	rep.TraceHash = p.hash.Sum64()
}

// record takes each record as the replay reaches it: to the oracle (what
// the kernel observer does not carry), then to the trace and its hash.
func (p *replay) record(rec *netrec.Record) {
	p.now, p.step = rec.Time, rec.Step
	switch rec.Op {
	case netrec.OpWriteBatch:
		p.calls += uint64(len(rec.Batch))
	case netrec.OpNote, netrec.OpListen, netrec.OpShutdown, netrec.OpStop, netrec.OpEnd:
	default:
		p.calls++
	}
	if p.o != nil {
		p.feedRecord(rec)
	}
	who, conn := "kernel", rec.ID
	switch rec.Op {
	case netrec.OpNote:
		who = "server"
	case netrec.OpListen, netrec.OpShutdown, netrec.OpStop, netrec.OpEnd:
		who, conn = "live", 0
	case netrec.OpAccept:
		conn = rec.NewID
	case netrec.OpNow, netrec.OpPoll:
		conn = 0
	}
	// The hashed line is the trace's: its step, time, who, connection and
	// what, so two replays that hash alike printed the same trace.
	b := strconv.AppendUint(p.line[:0], rec.Step, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(rec.Time), 10)
	b = append(b, ' ')
	b = append(b, who...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, conn, 10)
	b = append(b, ' ')
	start := len(b)
	b = rec.AppendCall(b)
	b = append(b, '\n')
	p.line = b
	p.hash.Write(b)
	if p.trace != nil {
		p.traceRecord(rec, conn, string(b[start:len(b)-1]))
	}
}

// feedRecord gives the oracle what a record says beyond the kernel
// observer's bytes: every read, write and accept call with its outcome,
// the peer's EOF, and the tick's poll, as the simulator's feed does. The
// poll is told in two parts, as the core makes it: the wait it asks for
// before (at the clock the core read to compute it), the tick's time when
// the core reads the clock after it (the Now that follows a Poll).
func (p *replay) feedRecord(rec *netrec.Record) {
	o := p.o
	switch rec.Op {
	case netrec.OpRead:
		o.ReadCall(rec.ID)
		if errors.Is(rec.Err, io.EOF) {
			o.ReadEOF(rec.ID)
			p.streams.eof(rec.ID)
		}
	case netrec.OpWrite, netrec.OpWritev:
		o.WriteCall(rec.ID, writeCut(rec))
	case netrec.OpWriteBatch:
		for i := range rec.Batch {
			it := rec.Batch[i].Record()
			o.WriteCall(it.ID, writeCut(&it))
		}
	case netrec.OpAccept:
		o.AcceptCall(acceptOutcomeOf(rec.Err))
	case netrec.OpPoll:
		o.PollWaits(rec.Timeout)
		p.polled, p.pollTimeout, p.pollEvents = true, rec.Timeout, rec.N
	case netrec.OpNow:
		if p.shutdownNow {
			p.shutdownNow = false
			o.ShutdownBegan()
		}
		if p.polled {
			p.polled = false
			o.Polled(p.pollTimeout, p.pollEvents, false)
		}
	}
}

// writeCut says the kernel took less than a write asked: would-block, or
// a short count.
func writeCut(rec *netrec.Record) bool {
	if errors.Is(rec.Err, kernel.ErrWouldBlock) {
		return true
	}
	want := rec.Len
	if rec.Op == netrec.OpWritev {
		want = 0
		for _, n := range rec.Bufs {
			want += n
		}
	}
	return rec.Err == nil && rec.N < want
}

// acceptOutcomeOf classes an Accept's error as the oracle's rules need it.
func acceptOutcomeOf(err error) oracle.AcceptOutcome {
	switch {
	case err == nil:
		return oracle.AcceptOK
	case errors.Is(err, kernel.ErrWouldBlock):
		return oracle.AcceptEmpty
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE), errors.Is(err, syscall.ENOBUFS), errors.Is(err, syscall.ENOMEM):
		return oracle.AcceptExhausted
	}
	return oracle.AcceptRetry
}

// claimGate passes the replayed core's claims to the oracle while the
// replay holds: once it has ended (the recording's end, a divergence),
// the core is answered with errors and its claims are not the live core's.
type claimGate struct{ p *replay }

func (g claimGate) ok() bool { return g.p.o != nil && g.p.rp.Err() == nil }

func (g claimGate) Joined(st kernel.Stream) {
	if g.ok() {
		g.p.claims.Joined(st)
	}
}

func (g claimGate) Left(st kernel.Stream, r server.CloseReason) {
	if g.ok() {
		g.p.claims.Left(st, r)
	}
}

func (g claimGate) Closed(st kernel.Stream, r server.CloseReason) {
	if g.ok() {
		g.p.claims.Closed(st, r)
	}
}

func (g claimGate) Frame(st kernel.Stream, head, tail []byte) {
	if g.ok() {
		g.p.claims.Frame(st, head, tail)
	}
}

// replayKernel is the replayer's kernel observer: the same feed as the
// fake kernel's, plus the tallies the clients' account is checked against.
type replayKernel struct {
	KernelFeed
	streams *streamTallies
}

func (k *replayKernel) Accepted(id uint64) {
	if k.O != nil {
		k.KernelFeed.Accepted(id)
	}
}

func (k *replayKernel) Read(id uint64, p []byte) {
	if k.O != nil {
		k.KernelFeed.Read(id, p)
	}
	k.streams.read(id, p)
}

func (k *replayKernel) Wrote(id uint64, p []byte) {
	if k.O != nil {
		k.KernelFeed.Wrote(id, p)
	}
	k.streams.wrote(id, p)
}

func (k *replayKernel) ClosedWrite(id uint64) {
	if k.O != nil {
		k.KernelFeed.ClosedWrite(id)
	}
}

func (k *replayKernel) Reset(id uint64) {
	if k.O != nil {
		k.KernelFeed.Reset(id)
	}
}
