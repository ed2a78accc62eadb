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
	"github.com/mobsim/mobsim/oracle"
	"github.com/mobsim/mobsim/server"
	"github.com/mobsim/mobsim/timeline"
)

// Violation is a broken invariant (see package oracle, which names them).
type Violation = oracle.Violation

// Invariant names, as the oracle gives them.
const (
	InvPanic      = oracle.InvPanic
	InvDelivery   = oracle.InvDelivery
	InvMembership = oracle.InvMembership
	InvLiveness   = oracle.InvLiveness
	InvMemory     = oracle.InvMemory
	InvLeak       = oracle.InvLeak
	InvKernel     = oracle.InvKernel
	InvCore       = oracle.InvCore
	InvFairness   = oracle.InvFairness
	InvTiming     = oracle.InvTiming
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
	o       *oracle.Oracle
	feed    KernelFeed
	claims  ClaimFeed
	clients []*client
	step    int
	tearing bool // the teardown of a shutdown world: talkers talk on
	trace   func(TraceEvent)
	bugs    []string
	poller  *cappedPoller

	// For the trace and the violation's facts (trace.go).
	connecting        *client // the client whose connect is under way
	traced, explained bool
	lastReady         []readyAt // by connection id
}

// cappedPoller is the kernel as the server sees it, except that a Poll
// waits at most cap: the clients act between ticks, so the world wakes the
// server for their next step as real clients would with their traffic.
// The kernel's Poll advances the clock by the (capped) timeout when nothing
// is ready. The oracle judges what the server asked for before the poll
// (no sleeping past a deadline it knows of) and is told after it whether
// the cap cut the wait: a cut wait followed by a timer firing means the
// server would have slept past a deadline of its own, which the oracle
// reports too. So the cap hides nothing; it is a safety net that says when
// it was needed. It offers the kernel's Poller only: a world that offers
// batched writes wraps it in batchPoller.
type cappedPoller struct {
	kernel.Poller
	cap time.Duration
	o   *oracle.Oracle
}

// batchPoller is cappedPoller with the kernel's kernel.BatchWriter: the
// server then sends each tick's fan-out as one batch.
type batchPoller struct {
	*cappedPoller
	kernel.BatchWriter
}

func (p *cappedPoller) Poll(events []kernel.Event, timeout time.Duration) (int, error) {
	p.o.PollWaits(timeout)
	asked := timeout
	cut := timeout < 0 || timeout > p.cap
	if cut {
		timeout = p.cap
	}
	n, err := p.Poller.Poll(events, timeout)
	p.o.Polled(asked, n, cut && n == 0)
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
			detail := fmt.Sprintf("%v\n%s", p, trimStack(debug.Stack()))
			rep.Violation = &Violation{Invariant: InvPanic, Step: r.step, Detail: detail}
			if r.k != nil {
				rep.Violation.Time = r.k.Now()
			}
			if r.o != nil {
				r.o.Fail(InvPanic, "%s", detail)
			}
		}
		if r.k != nil {
			rep.TraceHash, rep.Events = r.k.Hash(), r.k.Records()
		}
		if r.srv != nil {
			rep.Stats = r.srv.Stats()
		}
		if r.o != nil {
			rep.Frames = r.o.Frames()
			if rep.Violation == nil {
				rep.Violation = r.o.Violation()
			}
		}
		rep.Steps = r.step
		if rep.Violation != nil {
			r.explain(rep.Violation)
			if r.trace != nil && !r.traced {
				r.traced = true
				r.trace(violationEvent(rep.Violation))
			}
		}
	}()
	if err := r.setup(); err != nil {
		rep.Violation = &Violation{Invariant: "setup", Detail: err.Error()}
		return rep
	}
	phases := []func(){r.faultPhase, r.drainPhase, r.checkLiveness, r.teardown}
	for _, phase := range phases {
		if r.o.Violation() != nil {
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
	scfg.Observer = &r.claims
	if r.trace != nil {
		r.claims.Event = r.traceClaim
	}
	r.k.SetTracer(r.record)
	r.poller = &cappedPoller{Poller: r.k}
	var poller kernel.Poller = r.poller
	if r.cfg.BatchWrites {
		poller = &batchPoller{cappedPoller: r.poller, BatchWriter: r.k}
	}
	srv, err := server.New(poller, ln, scfg)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	r.srv = srv
	if err := EnableBugs(srv, r.bugs); err != nil {
		return err
	}
	// The oracle checks the configuration in force, defaults filled in.
	r.o = oracle.New(oracle.Config{Server: srv.Config(), Kernel: true, Losses: true, Clock: r.k.Now, Step: func() int { return r.step }})
	r.poller.o, r.feed.O, r.feed.K, r.claims.O = r.o, r.o, r.k, r.o
	r.k.SetObserver(&r.feed)
	for i, spec := range r.cfg.Clients {
		r.clients = append(r.clients, &client{idx: i, spec: spec})
	}
	return nil
}

// tick runs one server tick and the checks that hold between ticks: the
// oracle's first, independent of the server's bookkeeping, which Check then
// verifies from the inside.
func (r *run) tick() {
	r.o.TickBegin()
	r.traceTick(timeline.OpTickBegin)
	defer r.traceTick(timeline.OpTickEnd)
	if err := r.srv.Tick(); err != nil {
		r.o.Fail(InvCore, "tick: %v", err)
		return
	}
	r.o.TickEnd()
	if r.o.Violation() != nil {
		return
	}
	if err := r.srv.Check(); err != nil {
		r.o.Fail(InvCore, "%v", err)
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
	for ; r.step < r.cfg.FaultSteps && r.o.Violation() == nil; r.step++ {
		for _, c := range r.clients {
			r.act(c, phaseFault)
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
	// A connection its input rate stopped waits too, its data unread.
	patience := cfg.LingerTimeout + cfg.AcceptBackoffMax + cfg.ShutdownTimeout + max(cfg.IdleTimeout, 0) + cfg.RateResume() + 10*time.Millisecond
	quiet, last, lastAt := 0, r.o.Progress(), r.k.Now()
	for i := 0; i < r.cfg.DrainSteps && r.o.Violation() == nil; i, r.step = i+1, r.step+1 {
		for _, c := range r.clients {
			r.act(c, phaseDrain)
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
		if p := r.o.Progress(); p != last {
			last, lastAt = p, r.k.Now()
		} else if r.k.Now()-lastAt > patience {
			r.tracef("sim", 0, "drain: stalled for %v", r.k.Now()-lastAt)
			return
		}
	}
}

// quiet: every live client has written all it meant to, and the oracle
// sees nothing left to move.
func (r *run) quiet() bool {
	for _, c := range r.clients {
		if c.conn != nil && !c.gone && len(c.out) > 0 {
			return false
		}
	}
	return r.o.Quiet()
}

// checkLiveness runs after the drain: the oracle names the first client
// the server has not served.
func (r *run) checkLiveness() {
	settled := oracle.Settled{FDsOpen: r.k.OpenFDs(), FDsMax: r.k.Config().FDMax, IdleSlack: r.poller.cap}
	r.o.FailStuck(settled)
}

// talkingOn reports whether a client that keeps talking through a shutdown
// (stubborn, or a talker) is still connected.
func (r *run) talkingOn() bool {
	for _, c := range r.clients {
		if c.conn != nil && !c.gone && (c.spec.Stubborn || c.spec.Kind == Talker) {
			return true
		}
	}
	return false
}

// teardown ends the run and checks nothing leaked: with a graceful shutdown
// the server must finish within its deadline and release everything; else
// the clients close and the server must release every connection.
func (r *run) teardown() {
	if r.cfg.Shutdown {
		r.o.ShutdownBegan()
		r.tracef("sim", 0, "graceful shutdown")
		r.srv.Shutdown()
		r.tearing = true
	} else {
		r.tracef("sim", 0, "clients close")
		for _, c := range r.clients {
			if c.conn != nil && !c.gone {
				_ = c.conn.Close()
				r.gone(c, false)
			}
		}
	}
	deadline := r.k.Now() + r.srv.Config().ShutdownTimeout + r.srv.Config().LingerTimeout + r.srv.Config().AcceptBackoffMax + time.Second
	for i := 0; r.o.Violation() == nil && i < 100000; i, r.step = i+1, r.step+1 {
		done := r.srv.Stats().Conns == 0 && r.ln.Pending() == 0
		if r.cfg.Shutdown {
			done = r.srv.Done()
		}
		if done {
			break
		}
		if r.k.Now() > deadline {
			r.o.Fail(InvLeak, "%d connections still open and %d in the backlog %v past the teardown's deadline: the server does not let its clients go", r.srv.Stats().Conns, r.ln.Pending(), r.k.Now()-deadline)
			return
		}
		ph := phaseDrain
		if r.cfg.Shutdown {
			ph = phaseShutdown
		}
		for _, c := range r.clients {
			if c.conn != nil && !c.gone {
				r.act(c, ph)
			}
		}
		r.k.Flush()
		if ph == phaseShutdown && r.talkingOn() {
			// Clients that keep talking take time to: without it, a
			// world whose server has their bytes to read every step
			// would never reach the shutdown deadline that ends them.
			r.k.Advance(time.Millisecond)
		}
		r.poller.cap = time.Millisecond
		r.tick()
	}
	if r.o.Violation() != nil {
		return
	}
	wantFDs := 1
	if r.cfg.Shutdown {
		wantFDs = 0
	}
	if fds, regs := r.k.OpenFDs(), r.k.Registrations(); fds != wantFDs || regs != wantFDs {
		r.o.Fail(InvLeak, "after teardown: %d fds open, %d registrations; want %d", fds, regs, wantFDs)
	}
	if st := r.srv.Stats(); st.Conns != 0 || st.Members != 0 || st.QueuedBytes != 0 {
		r.o.Fail(InvLeak, "after teardown: server holds %d conns, %d members, %d queued bytes", st.Conns, st.Members, st.QueuedBytes)
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
