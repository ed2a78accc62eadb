package load

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mobsim/mobsim/bench/peer"
	"github.com/mobsim/mobsim/internal/procfs"
	"github.com/mobsim/mobsim/server"
)

// Plan is one benchmark run: which servers, which scenarios, how long.
type Plan struct {
	Bin        string   // cmd/peer binary
	Impls      []string // servers, table order; the first is the one ratios are of
	Scenarios  []string // names from Scenarios()
	Runs       int      // repetitions; medians are reported
	ProfileDir string   // if set, CPU profiles of the first server's runs (not idle)

	FrameBytes     int
	FanoutClients  int
	FanoutWindow   int
	Warm           time.Duration
	FanoutTime     time.Duration
	LatencyClients int
	LatencyRate    float64 // frames/s sent by all clients together
	LatencyTime    time.Duration
	IdleConns      int
	ChurnWorkers   int
	ChurnTime      time.Duration
}

// ShortPlan is the plan `make bench` runs: every scenario, three runs each,
// well under five minutes on two cores.
func ShortPlan(bin string) Plan {
	return Plan{
		Bin:            bin,
		Impls:          []string{"mob", "goroutine", "gnet", "gnet-batch"},
		Scenarios:      []string{"fanout", "fanout-line", "latency", "idle", "churn"},
		Runs:           3,
		FrameBytes:     frameBytesDflt,
		FanoutClients:  100,
		FanoutWindow:   8,
		Warm:           500 * time.Millisecond,
		FanoutTime:     2 * time.Second,
		LatencyClients: 1000,
		LatencyRate:    50,
		LatencyTime:    3 * time.Second,
		IdleConns:      10_000,
		ChurnWorkers:   16,
		ChurnTime:      2 * time.Second,
	}
}

// Metric describes one row of the table.
type Metric struct {
	Name   string
	Better string // "higher" or "lower": which way a ratio above 1 is good
	Worst  bool   // aggregate by the worst run instead of the median (errors)
}

// Scenario is a named measurement of one server process.
type Scenario struct {
	Name    string
	About   func(Plan) string
	Framing server.Framing
	Metrics []Metric
	run     func(ctx context.Context, pl Plan, p *Proc, profile string) (map[string]float64, error)
}

// Scenarios lists every scenario in table order.
func Scenarios() []Scenario {
	fanoutMetrics := []Metric{
		{Name: "deliveries/s", Better: "higher"},
		{Name: "latency p50 us", Better: "lower"},
		{Name: "latency p99 us", Better: "lower"},
		{Name: "server CPU ns/delivery", Better: "lower"},
		{Name: "server cores", Better: "lower"},
		{Name: "loadgen cores", Better: "lower"},
		{Name: "writes/delivery", Better: "lower"},
		{Name: "write syscalls/delivery", Better: "lower"},
		{Name: "reads/frame in", Better: "lower"},
		{Name: "frames in/tick", Better: "higher"},
		{Name: "allocs/delivery", Better: "lower"},
		{Name: "errors", Better: "lower", Worst: true},
	}
	return []Scenario{
		{
			Name: "fanout", Framing: server.FramingMob, Metrics: fanoutMetrics,
			About: func(pl Plan) string {
				return fmt.Sprintf("fan-out throughput: %d clients flat out (at most %d own frames in flight each), %d-byte mob frames",
					pl.FanoutClients, pl.FanoutWindow, pl.FrameBytes)
			},
			run: runFanout,
		},
		{
			Name: "fanout-line", Framing: server.FramingLine, Metrics: fanoutMetrics[:4],
			About: func(pl Plan) string { return fmt.Sprintf("the same with %d-byte line frames", pl.FrameBytes) },
			run:   runFanout,
		},
		{
			Name: "latency", Framing: server.FramingMob,
			About: func(pl Plan) string {
				return fmt.Sprintf("latency under moderate load: %d clients, %.0f frames/s in total (%.0f deliveries/s offered)",
					pl.LatencyClients, pl.LatencyRate, pl.LatencyRate*float64(pl.LatencyClients))
			},
			Metrics: []Metric{
				{Name: "latency p50 us", Better: "lower"},
				{Name: "latency p99 us", Better: "lower"},
				{Name: "latency p99.9 us", Better: "lower"},
				{Name: "deliveries/s", Better: "higher"},
				{Name: "server CPU ns/delivery", Better: "lower"},
				{Name: "server cores", Better: "lower"},
				{Name: "loadgen cores", Better: "lower"},
				{Name: "write syscalls/frame in", Better: "lower"},
				{Name: "syscalls/frame in", Better: "lower"},
				{Name: "errors", Better: "lower", Worst: true},
			},
			run: runLatency,
		},
		{
			Name: "idle", Framing: server.FramingMob,
			About: func(pl Plan) string {
				return fmt.Sprintf("idle memory: %d connections, server VmRSS growth per connection", pl.IdleConns)
			},
			Metrics: []Metric{
				{Name: "RSS KiB/conn", Better: "lower"},
				{Name: "RSS KiB/conn before GC", Better: "lower"},
				{Name: "connect s", Better: "lower"},
			},
			run: runIdle,
		},
		{
			Name: "churn", Framing: server.FramingMob,
			About: func(pl Plan) string {
				return fmt.Sprintf("churn: %d workers loop connect, send, await echo, half-close, read EOF, close", pl.ChurnWorkers)
			},
			Metrics: []Metric{
				{Name: "cycles/s", Better: "higher"},
				{Name: "cycle p99 us", Better: "lower"},
				{Name: "errors", Better: "lower", Worst: true},
			},
			run: runChurn,
		},
	}
}

// FindScenario returns the scenario called name.
func FindScenario(name string) (Scenario, error) {
	for _, s := range Scenarios() {
		if s.Name == name {
			return s, nil
		}
	}
	return Scenario{}, fmt.Errorf("unknown scenario %q", name)
}

// waitConns polls the server until it holds want connections.
func waitConns(p *Proc, want int, within time.Duration) (peer.ProcStats, error) {
	deadline := time.Now().Add(within)
	for {
		st, err := p.Stats()
		if err != nil || st.Conns == want {
			return st, err
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("%s holds %d connections after %v, want %d", p.Impl, st.Conns, within, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// window is the server's side of a measured window.
type window struct {
	st0, st1   peer.ProcStats
	cpu0, cpu1 time.Duration
	// The load generator's own CPU time and the wall clock over the same
	// window: how much of the machine the clients took.
	self0, self1 time.Duration
	t0, t1       time.Time
}

func (w *window) begin(p *Proc) error {
	var err error
	if w.st0, err = p.Stats(); err != nil {
		return err
	}
	if w.self0, err = procfs.CPU(os.Getpid()); err != nil {
		return err
	}
	w.t0 = time.Now()
	w.cpu0, err = p.CPU()
	return err
}

func (w *window) end(p *Proc) error {
	var err error
	if w.cpu1, err = p.CPU(); err != nil {
		return err
	}
	w.t1 = time.Now()
	if w.self1, err = procfs.CPU(os.Getpid()); err != nil {
		return err
	}
	w.st1, err = p.Stats()
	return err
}

// cores is CPU time over the window's wall time: how many cores' worth.
func (w *window) cores(cpu time.Duration) float64 {
	if d := w.t1.Sub(w.t0); d > 0 {
		return float64(cpu) / float64(d)
	}
	return 0
}

// perDelivery divides by the deliveries the server queued in the window.
func (w *window) perDelivery(v float64) float64 {
	d := float64(w.st1.Deliveries - w.st0.Deliveries)
	if d == 0 {
		return 0
	}
	return v / d
}

// writeSyscalls is the system calls the server's writes took in the
// window, where it counts them (mob); else its write calls, a lower bound.
func (w *window) writeSyscalls() float64 {
	if w.st1.WriteSyscalls == 0 {
		return float64(w.st1.WriteCalls - w.st0.WriteCalls)
	}
	return float64(w.st1.WriteSyscalls - w.st0.WriteSyscalls)
}

// syscallsPerFrameIn is every system call of the event loop per frame
// read: polls (one a tick), reads and the writes' system calls, for a
// server that counts its ticks.
func (w *window) syscallsPerFrameIn() float64 {
	polls := float64(w.st1.Ticks - w.st0.Ticks)
	return perFrameIn(*w, polls+float64(w.st1.ReadCalls-w.st0.ReadCalls)+w.writeSyscalls())
}

// perFrameIn divides by the frames the server read in the window.
func perFrameIn(w window, v float64) float64 {
	if d := float64(w.st1.FramesIn - w.st0.FramesIn); d > 0 {
		return v / d
	}
	return 0
}

func runFleet(ctx context.Context, pl Plan, p *Proc, fc FleetConfig, d time.Duration, profile string) (FleetResult, window, error) {
	var w window
	fl, err := StartFleet(ctx, fc)
	if err != nil {
		return FleetResult{}, w, err
	}
	if _, err := waitConns(p, fc.Clients, 10*time.Second); err != nil {
		fl.Stop()
		return FleetResult{}, w, err
	}
	fl.Go()
	time.Sleep(pl.Warm)
	if err := w.begin(p); err != nil {
		fl.Stop()
		return FleetResult{}, w, err
	}
	if profile != "" {
		if err := p.StartProfile(profile); err != nil {
			fl.Stop()
			return FleetResult{}, w, err
		}
	}
	fl.Measure()
	time.Sleep(d)
	fl.End()
	// The server's window closes before the teardown, whose closes are not
	// part of the measurement.
	err = w.end(p)
	if profile != "" {
		if perr := p.StopProfile(); perr != nil && err == nil {
			err = perr
		}
	}
	return fl.Stop(), w, err
}

func fleetMetrics(p *Proc, res FleetResult, w window) map[string]float64 {
	if res.FirstError != nil {
		fmt.Printf("  %s: %d errors, first: %v; server cut %d slow clients in the window\n",
			p.Impl, res.Errors, res.FirstError, w.st1.CutSlow-w.st0.CutSlow)
	}
	us := func(q float64) float64 { return float64(res.Latency.Quantile(q)) / 1e3 }
	m := map[string]float64{
		"deliveries/s":            float64(res.Deliveries) / res.Elapsed.Seconds(),
		"latency p50 us":          us(0.50),
		"latency p99 us":          us(0.99),
		"latency p99.9 us":        us(0.999),
		"server CPU ns/delivery":  w.perDelivery(float64(w.cpu1 - w.cpu0)),
		"server cores":            w.cores(w.cpu1 - w.cpu0),
		"loadgen cores":           w.cores(w.self1 - w.self0),
		"writes/delivery":         w.perDelivery(float64(w.st1.WriteCalls - w.st0.WriteCalls)),
		"reads/frame in":          perFrameIn(w, float64(w.st1.ReadCalls-w.st0.ReadCalls)),
		"write syscalls/delivery": w.perDelivery(w.writeSyscalls()),
		"write syscalls/frame in": perFrameIn(w, w.writeSyscalls()),
		"allocs/delivery":         w.perDelivery(float64(w.st1.Mallocs - w.st0.Mallocs)),
		"errors":                  float64(res.Errors),
	}
	if w.st1.Ticks > 0 { // a server that counts its ticks (polls)
		m["syscalls/frame in"] = w.syscallsPerFrameIn()
		m["frames in/tick"] = float64(w.st1.FramesIn-w.st0.FramesIn) / float64(w.st1.Ticks-w.st0.Ticks)
	}
	return m
}

func runFanout(ctx context.Context, pl Plan, p *Proc, profile string) (map[string]float64, error) {
	fc := FleetConfig{Addr: p.Addr, Framing: p.Framing, Clients: pl.FanoutClients,
		FrameBytes: pl.FrameBytes, Window: pl.FanoutWindow, Sources: 1}
	res, w, err := runFleet(ctx, pl, p, fc, pl.FanoutTime, profile)
	if err != nil {
		return nil, err
	}
	return fleetMetrics(p, res, w), nil
}

func runLatency(ctx context.Context, pl Plan, p *Proc, profile string) (map[string]float64, error) {
	fc := FleetConfig{Addr: p.Addr, Framing: p.Framing, Clients: pl.LatencyClients,
		FrameBytes: pl.FrameBytes, Rate: pl.LatencyRate, Sources: 8}
	res, w, err := runFleet(ctx, pl, p, fc, pl.LatencyTime, profile)
	if err != nil {
		return nil, err
	}
	return fleetMetrics(p, res, w), nil
}

func runIdle(ctx context.Context, pl Plan, p *Proc, _ string) (map[string]float64, error) {
	if _, err := waitConns(p, 0, 5*time.Second); err != nil {
		return nil, err
	}
	rssRaw0, rss0, err := rssPair(p)
	if err != nil {
		return nil, err
	}
	t := time.Now()
	closeConns, err := Idle(ctx, p.Addr, pl.IdleConns, 8)
	if err != nil {
		return nil, err
	}
	defer closeConns()
	if _, err := waitConns(p, pl.IdleConns, 60*time.Second); err != nil {
		return nil, err
	}
	connect := time.Since(t)
	time.Sleep(time.Second) // let the server settle: nothing more is sent
	rssRaw1, rss1, err := rssPair(p)
	if err != nil {
		return nil, err
	}
	n := float64(pl.IdleConns)
	return map[string]float64{
		"RSS KiB/conn":           float64(rss1-rss0) / 1024 / n,
		"RSS KiB/conn before GC": float64(rssRaw1-rssRaw0) / 1024 / n,
		"connect s":              connect.Seconds(),
	}, nil
}

// rssPair reads VmRSS as it is, then again after a forced GC that returns
// free memory to the system.
func rssPair(p *Proc) (raw, collected int64, err error) {
	if raw, err = p.RSS(); err != nil {
		return 0, 0, err
	}
	if err = p.GC(); err != nil {
		return 0, 0, err
	}
	collected, err = p.RSS()
	return raw, collected, err
}

func runChurn(ctx context.Context, pl Plan, p *Proc, profile string) (map[string]float64, error) {
	if profile != "" {
		if err := p.StartProfile(profile); err != nil {
			return nil, err
		}
	}
	res, err := Churn(ctx, ChurnConfig{Addr: p.Addr, Framing: p.Framing, Workers: pl.ChurnWorkers,
		FrameBytes: pl.FrameBytes, Sources: sourceIPsMax, Duration: pl.ChurnTime})
	if profile != "" {
		if perr := p.StopProfile(); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return nil, err
	}
	if res.FirstError != nil {
		fmt.Printf("  churn %s: %d errors, first: %v\n", p.Impl, res.Errors, res.FirstError)
	}
	return map[string]float64{
		"cycles/s":     float64(res.Cycles) / res.Elapsed.Seconds(),
		"cycle p99 us": float64(res.Cycle.Quantile(0.99)) / 1e3,
		"errors":       float64(res.Errors),
	}, nil
}

// profilePath names the CPU profile of impl's run number run of scenario.
func profilePath(dir, scenario, impl string, run int) string {
	return filepath.Join(dir, fmt.Sprintf("%s-%s-%d.pprof", scenario, impl, run))
}
