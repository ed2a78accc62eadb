package sim

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
	"github.com/mobsim/mobsim/server"
)

// Report is the outcome of one seed.
type Report struct {
	Seed      uint64       `json:"seed"`
	World     string       `json:"world"`
	Violation *Violation   `json:"violation,omitempty"`
	Steps     int          `json:"steps"`
	Events    uint64       `json:"events"` // kernel trace records: syscalls and readiness events
	Frames    int          `json:"frames"` // frames the server read
	TraceHash uint64       `json:"trace_hash"`
	Stats     server.Stats `json:"-"`
}

// OK reports whether every invariant held.
func (r Report) OK() bool { return r.Violation == nil }

// ReplayCommand is the one command that replays seed with a readable trace,
// with the named catalog bugs switched on if any.
func ReplayCommand(seed uint64, bugs ...string) string {
	if len(bugs) > 0 {
		return fmt.Sprintf("%s run ./cmd/mobsim -seed %d -bug %s -trace", catalogCommand, seed, strings.Join(bugs, ","))
	}
	return fmt.Sprintf("go run ./cmd/mobsim -seed %d -trace", seed)
}

// Options are per-run switches that do not change behaviour.
type Options struct {
	// Trace, if set, receives every kernel record, client action and server
	// membership event as it happens.
	Trace func(TraceEvent)
	// Bugs switches on re-introduced bugs from the catalog by name (the
	// catalog build only: see package bugs).
	Bugs []string
}

// RunSeed runs seed in the world Swarm(seed) draws for it.
func RunSeed(seed uint64, opt Options) Report { return Run(seed, Swarm(seed), opt) }

type run struct {
	seed    uint64
	cfg     Config
	rng     *rand.Rand
	k       *netfake.Kernel
	ln      *netfake.Listener
	srv     *server.Server
	o       *oracle
	clients []*client
	step    int
	trace   func(TraceEvent)
	bugs    []string
	poller  *cappedPoller
	spin    int // ticks in a row that polled without waiting and did nothing
	budget  tickBudget
}

// tickBudget counts, within one server tick, the write calls and bytes read
// per connection and the accept calls, to check the server's per-tick
// budgets (fairness) and its coalescing from the kernel's side.
type tickBudget struct {
	writes, reads []int    // by connection id
	touched       []uint64 // ids with counts to reset
	accepts       int
}

func (b *tickBudget) note(id uint64, writes, reads int) {
	for uint64(len(b.writes)) <= id {
		b.writes, b.reads = append(b.writes, 0), append(b.reads, 0)
	}
	if b.writes[id] == 0 && b.reads[id] == 0 {
		b.touched = append(b.touched, id)
	}
	b.writes[id] += writes
	b.reads[id] += reads
}

// check reports the first budget exceeded in the tick just run, and resets.
func (b *tickBudget) check(cfg server.Config) string {
	msg := ""
	if b.accepts > cfg.AcceptsPerTickMax {
		msg = fmt.Sprintf("%d accept calls in one tick, budget %d", b.accepts, cfg.AcceptsPerTickMax)
	}
	for _, id := range b.touched {
		if msg == "" && b.writes[id] > cfg.WriteCallsPerTickMax {
			msg = fmt.Sprintf("conn %d: %d write calls in one tick, budget %d", id, b.writes[id], cfg.WriteCallsPerTickMax)
		}
		if msg == "" && b.reads[id] > cfg.ReadBytesPerTickMax {
			msg = fmt.Sprintf("conn %d: %d bytes read in one tick, budget %d", id, b.reads[id], cfg.ReadBytesPerTickMax)
		}
		b.writes[id], b.reads[id] = 0, 0
	}
	b.touched, b.accepts = b.touched[:0], 0
	return msg
}

// cappedPoller is the kernel as the server sees it, except that a Poll
// waits at most cap: the clients act between ticks, so a server must not
// sleep through them to its next timer. The kernel's Poll advances the
// clock by the (capped) timeout when nothing is ready.
type cappedPoller struct {
	*netfake.Kernel
	cap      time.Duration
	zeroWait bool // the last Poll asked not to wait
	empty    bool // and got nothing
}

func (p *cappedPoller) Poll(events []kernel.Event, timeout time.Duration) (int, error) {
	p.zeroWait = timeout == 0
	if timeout < 0 || timeout > p.cap {
		timeout = p.cap
	}
	n, err := p.Kernel.Poll(events, timeout)
	p.empty = n == 0
	return n, err
}

// Run runs one simulation: a fault phase, a drain phase with faults off and
// clients only finishing what they started and reading everything, then a
// teardown (clients close, or a graceful shutdown) with leak checks. Every
// choice comes from one PRNG seeded with seed; the same seed and config give
// the same trace hash.
func Run(seed uint64, cfg Config, opt Options) (rep Report) {
	r := &run{
		seed:  seed,
		cfg:   cfg,
		rng:   rand.New(rand.NewPCG(seed, 0x6d6f6273696d)),
		trace: opt.Trace,
		bugs:  opt.Bugs,
	}
	rep = Report{Seed: seed, World: cfg.String()}
	defer func() {
		if p := recover(); p != nil {
			v := &Violation{Invariant: InvPanic, Step: r.step, Detail: fmt.Sprintf("%v\n%s", p, trimStack(debug.Stack()))}
			if r.o != nil && r.o.violation == nil {
				r.o.violation = v
			}
			rep.Violation = v
		}
		if r.k != nil {
			rep.TraceHash, rep.Events = r.k.Hash(), r.k.Records()
		}
		if r.srv != nil {
			rep.Stats = r.srv.Stats()
		}
		if r.o != nil {
			rep.Frames = r.o.frames
			if rep.Violation == nil {
				rep.Violation = r.o.violation
			}
		}
		rep.Steps = r.step
	}()
	if err := r.setup(); err != nil {
		rep.Violation = &Violation{Invariant: "setup", Detail: err.Error()}
		return rep
	}
	phases := []func(){r.faultPhase, r.drainPhase, r.checkLiveness, r.teardown}
	for _, phase := range phases {
		if r.o.violation != nil {
			break
		}
		phase()
	}
	return rep
}

func (r *run) setup() error {
	r.k = netfake.New(r.rng, r.cfg.Kernel)
	ln, err := r.k.Listen(max(r.cfg.Backlog, 1))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	r.ln = ln
	scfg := r.cfg.Server
	scfg.Logger = nil
	r.o = newOracle(scfg, r.k.Now, &r.step)
	scfg.Observer = serverObserver{r}
	r.k.SetObserver(kernelObserver{r})
	// The oracle learns of EOF reads from the kernel's trace records.
	r.k.SetTracer(func(rec netfake.Record) {
		switch rec.Kind {
		case netfake.KindRead:
			if rec.Err == netfake.EOF {
				r.o.readEOF(rec.Conn)
			}
			if rec.N > 0 {
				r.budget.note(rec.Conn, 0, int(rec.N))
			}
		case netfake.KindWrite, netfake.KindWritev:
			r.budget.note(rec.Conn, 1, 0)
		case netfake.KindAccept:
			if rec.Err != netfake.EAGAIN { // an empty probe is no work
				r.budget.accepts++
			}
		}
		if r.trace != nil {
			r.trace(TraceEvent{Time: rec.Time, Step: r.step, Who: "kernel", Conn: rec.Conn, What: rec.String()})
		}
	})
	r.poller = &cappedPoller{Kernel: r.k}
	srv, err := server.New(r.poller, ln, scfg)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	r.srv = srv
	if err := EnableBugs(srv, r.bugs); err != nil {
		return err
	}
	r.o.cfg = srv.Config()
	for i, spec := range r.cfg.Clients {
		r.clients = append(r.clients, &client{idx: i, spec: spec})
	}
	return nil
}

func (r *run) tracef(who string, conn uint64, format string, args ...any) {
	if r.trace != nil {
		r.trace(TraceEvent{Time: r.k.Now(), Step: r.step, Who: who, Conn: conn, What: fmt.Sprintf(format, args...)})
	}
}

// spinTicksMax bounds ticks in a row that ask Poll not to wait, get
// nothing, and do nothing: more is a busy loop (say, retrying accept on
// EMFILE without a timer).
const spinTicksMax = 1000

// tick runs one server tick and the checks that hold between ticks.
func (r *run) tick() {
	before := r.progress()
	r.budget.check(r.srv.Config()) // forget what happened between ticks
	if err := r.srv.Tick(); err != nil {
		r.o.fail(InvCore, "tick: %v", err)
		return
	}
	if msg := r.budget.check(r.srv.Config()); msg != "" {
		r.o.fail(InvFairness, "%s", msg)
		return
	}
	if r.poller.zeroWait && r.poller.empty && r.progress() == before {
		if r.spin++; r.spin > spinTicksMax {
			r.o.fail(InvLiveness, "busy loop: %d ticks in a row polled without waiting and did nothing", r.spin)
			return
		}
	} else {
		r.spin = 0
	}
	// The oracle's own checks first: they are independent of the server's
	// bookkeeping, which Check then verifies from the inside.
	r.o.afterTick()
	if err := r.srv.Check(); err != nil {
		r.o.fail(InvCore, "%v", err)
	}
}

// randTime draws a duration in [0, d].
func (r *run) randTime(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(r.rng.Int64N(int64(d) + 1))
}

func (r *run) faultPhase() {
	for ; r.step < r.cfg.FaultSteps && r.o.violation == nil; r.step++ {
		for _, c := range r.clients {
			r.act(c, false)
		}
		r.k.Step()
		r.poller.cap = r.randTime(r.cfg.StepTime)
		r.tick()
	}
}

// drainPhase turns faults off; clients finish the frames they started,
// half-closers send their FIN, and everyone reads everything. It ends when
// the world is quiet, or when it has stalled: no byte moved and no
// connection changed for a while, long enough in virtual time for every
// server timer (linger, accept back-off) to have fired. The liveness check
// then names what is stuck.
func (r *run) drainPhase() {
	r.k.SetFaults(netfake.FaultPlan{})
	r.poller.cap = max(r.cfg.StepTime, time.Millisecond) // timers must make progress
	r.tracef("sim", 0, "drain: faults off")
	cfg := r.srv.Config()
	patience := cfg.LingerTimeout + cfg.AcceptBackoffMax + cfg.ShutdownTimeout + max(cfg.IdleTimeout, 0) + 10*time.Millisecond
	quiet, last, lastAt := 0, r.progress(), r.k.Now()
	for i := 0; i < r.cfg.DrainSteps && r.o.violation == nil; i, r.step = i+1, r.step+1 {
		for _, c := range r.clients {
			r.act(c, true)
		}
		r.k.Flush()
		r.tick()
		if r.quiet() {
			if quiet++; quiet >= 3 {
				return
			}
			continue
		}
		quiet = 0
		if p := r.progress(); p != last {
			last, lastAt = p, r.k.Now()
		} else if r.k.Now()-lastAt > patience {
			r.tracef("sim", 0, "drain: stalled for %v", r.k.Now()-lastAt)
			return
		}
	}
}

// progress is a signature that changes whenever bytes move or connections
// come and go.
type progress struct {
	in, out, acc, closed uint64
	client, leaves       uint64
}

func (r *run) progress() progress {
	st := r.srv.Stats()
	p := progress{in: st.BytesIn, out: st.BytesOut, acc: st.Accepted, closed: st.ClosedTotal(), leaves: r.o.leaves}
	for _, c := range r.clients {
		p.client += c.recv + c.wrote
	}
	return p
}

// quiet: every live client has written all it meant to, the server has read
// it all and written every member all it is owed, and no connection is
// still leaving.
func (r *run) quiet() bool {
	for _, c := range r.clients {
		if c.conn == nil || c.gone {
			continue
		}
		if len(c.out) > 0 {
			return false
		}
		oc := r.o.conns[c.id]
		if oc == nil || !oc.accepted {
			return false
		}
		if oc.joined && !oc.closed && !oc.left {
			if oc.readBytes < c.wrote || oc.ringW < uint64(len(r.o.all))-oc.join || c.recv < oc.ringW {
				return false
			}
		}
	}
	for _, oc := range r.o.list {
		if oc.left && !oc.closed {
			return false
		}
	}
	return true
}

// checkLiveness runs after the drain: every member has everything, every
// accepted client's input was read, and no connection is stuck leaving.
func (r *run) checkLiveness() {
	for _, c := range r.clients {
		if c.conn == nil || c.gone {
			continue
		}
		oc := r.o.conns[c.id]
		switch {
		case oc == nil || !oc.accepted:
			if r.k.OpenFDs() < r.k.Config().FDMax {
				r.o.fail(InvLiveness, "client %d (%v) is still in the backlog after the drain with fds free (%d of %d open)", c.idx, c.spec.Kind, r.k.OpenFDs(), r.k.Config().FDMax)
			}
		case oc.joined && !oc.left && !oc.closed:
			if it := r.o.cfg.IdleTimeout; it > 0 && r.k.Now()-oc.lastData > it+r.poller.cap {
				r.o.fail(InvLiveness, "client %d (%v): silent for %v, still a member (idle timeout %v)", c.idx, c.spec.Kind, r.k.Now()-oc.lastData, it)
			} else if oc.readBytes < c.wrote {
				r.o.fail(InvLiveness, "client %d (%v): server read %d of the %d bytes it sent (data stranded)", c.idx, c.spec.Kind, oc.readBytes, c.wrote)
			} else if owed := uint64(len(r.o.all)) - oc.join; oc.ringW < owed {
				r.o.fail(InvLiveness, "client %d (%v): server wrote %d of the %d bytes it owes (output stranded)", c.idx, c.spec.Kind, oc.ringW, owed)
			} else if c.recv < oc.ringW {
				r.o.fail(InvLiveness, "client %d (%v): received %d of %d bytes written", c.idx, c.spec.Kind, c.recv, oc.ringW)
			}
		case oc.left && !oc.closed:
			r.o.fail(InvLiveness, "client %d (%v): connection left (%v) and was never closed", c.idx, c.spec.Kind, oc.reason)
		}
		if r.o.violation != nil {
			return
		}
	}
}

// teardown ends the run and checks nothing leaked: with a graceful shutdown
// the server must finish within its deadline and release everything; else
// the clients close and the server must release every connection.
func (r *run) teardown() {
	if r.cfg.Shutdown {
		r.o.shutdown = true
		r.tracef("sim", 0, "graceful shutdown")
		r.srv.Shutdown()
	} else {
		r.tracef("sim", 0, "clients close")
		for _, c := range r.clients {
			if c.conn != nil && !c.gone {
				_ = c.conn.Close()
				c.gone = true
			}
		}
	}
	deadline := r.k.Now() + r.srv.Config().ShutdownTimeout + r.srv.Config().LingerTimeout + r.srv.Config().AcceptBackoffMax + time.Second
	for i := 0; r.o.violation == nil && i < 100000; i, r.step = i+1, r.step+1 {
		done := r.srv.Stats().Conns == 0 && r.ln.Pending() == 0
		if r.cfg.Shutdown {
			done = r.srv.Done()
		}
		if done {
			break
		}
		if r.k.Now() > deadline {
			r.o.fail(InvLeak, "%d connections still open %v after teardown began", r.srv.Stats().Conns, r.k.Now()-deadline)
			return
		}
		for _, c := range r.clients {
			if c.conn != nil && !c.gone {
				r.act(c, true)
			}
		}
		r.k.Flush()
		r.poller.cap = time.Millisecond
		r.tick()
	}
	if r.o.violation != nil {
		return
	}
	wantFDs := 1
	if r.cfg.Shutdown {
		wantFDs = 0
	}
	if fds, regs := r.k.OpenFDs(), r.k.Registrations(); fds != wantFDs || regs != wantFDs {
		r.o.fail(InvLeak, "after teardown: %d fds open, %d registrations; want %d", fds, regs, wantFDs)
	}
	if st := r.srv.Stats(); st.Conns != 0 || st.Members != 0 || st.QueuedBytes != 0 {
		r.o.fail(InvLeak, "after teardown: server holds %d conns, %d members, %d queued bytes", st.Conns, st.Members, st.QueuedBytes)
	}
}

func trimStack(s []byte) string {
	lines := strings.Split(string(s), "\n")
	if len(lines) > 24 {
		lines = lines[:24]
	}
	return strings.Join(lines, "\n")
}

// isGone reports errors after which a client's connection is finished.
func isGone(err error) bool {
	return err != nil && !errors.Is(err, kernel.ErrWouldBlock) && !errors.Is(err, io.EOF)
}
