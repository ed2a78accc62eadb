package sim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/mobsim/mobsim/netfake"
	"github.com/mobsim/mobsim/server"
)

// Kind is a scripted client's behaviour.
type Kind uint8

// Client kinds.
const (
	Chatty      Kind = iota // sends often, reads everything
	Bursty                  // sends bursts of many frames at once
	SlowReader              // sends, reads a few bytes now and then
	NeverReader             // sends, never reads in the fault phase
	HalfCloser              // sends its frames, FIN, reads to EOF
	Resetter                // sends, then resets, possibly mid-frame
	Reconnecter             // sends, closes, connects again later
	Oversized               // sends, then a frame over the limit (or a bad mob header)
	Idler                   // connects and never sends
	kindCount
)

var kindNames = [kindCount]string{"chatty", "bursty", "slow-reader", "never-reader", "half-closer", "resetter", "reconnecter", "oversized", "idler"}

func (k Kind) String() string {
	if k < kindCount {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ClientSpec scripts one client.
type ClientSpec struct {
	Kind    Kind
	Frames  int // frames to send in the fault phase
	BodyMax int // largest frame body it sends (within FrameBytesMax)
	Start   int // step at which it connects
}

// Config is one simulation's world: kernel, server limits, clients, phases.
type Config struct {
	Kernel  netfake.Config
	Server  server.Config // Logger and Observer are set by Run
	Backlog int
	Clients []ClientSpec

	FaultSteps int           // steps with faults on and clients sending
	DrainSteps int           // hard bound on the drain phase; a stall ends it sooner
	StepTime   time.Duration // the clock advances by up to this per step
	// Shutdown ends the run with a graceful server shutdown instead of the
	// clients closing.
	Shutdown bool
	// BatchWrites offers the server the kernel's kernel.BatchWriter, so it
	// sends each tick's fan-out as one batch; without it the server makes
	// the same writes one by one.
	BatchWrites bool
}

// Standard is the benchmark scenario: 8 chatty clients, 200 frames each,
// no faults, line framing.
func Standard() Config {
	cfg := Config{
		Kernel:     netfake.Config{Edge: netfake.EdgeStrict, Batch: netfake.BatchEpoll},
		Server:     server.Config{Framing: server.FramingLine, FrameBytesMax: 256, QueueBytesMax: 64 << 10},
		Backlog:    16,
		FaultSteps: 600,
		DrainSteps: 2_000_000,
		StepTime:   time.Millisecond,
	}
	for range 8 {
		cfg.Clients = append(cfg.Clients, ClientSpec{Kind: Chatty, Frames: 200, BodyMax: 64})
	}
	return cfg
}

// Swarm draws a world from seed: each seed gets its own subset of fault
// kinds and parameters (swarm testing), so no single setting hides a bug.
func Swarm(seed uint64) Config {
	r := rand.New(rand.NewPCG(seed, 0x5157a12d))
	pick := func(xs ...int) int { return xs[r.IntN(len(xs))] }
	chance := func(p float64) bool { return r.Float64() < p }

	var cfg Config
	cfg.Kernel.Edge = netfake.EdgeMode(r.IntN(2))
	cfg.Kernel.Batch = netfake.BatchShape(r.IntN(2))
	cfg.Kernel.RecvBufBytes = pick(1, 7, 64, 512, 4096, 65536)
	cfg.Kernel.SendBufBytes = pick(1, 7, 64, 512, 4096, 65536)
	cfg.Kernel.ClientRecvBufBytes = pick(1, 64, 4096, 65536)
	cfg.Kernel.ClientSendBufBytes = pick(1, 64, 4096, 65536)
	cfg.Kernel.FDMax = pick(4, 8, 64, 1024)
	cfg.Backlog = pick(1, 2, 8, 64)

	var f netfake.FaultPlan
	p := func() float64 { return []float64{0.01, 0.05, 0.2}[r.IntN(3)] }
	if chance(0.5) {
		f.ShortRead = p()
	}
	if chance(0.5) {
		f.ShortWrite = p()
	}
	if chance(0.4) {
		f.SpuriousReady = p()
	}
	if chance(0.4) {
		f.SpuriousToken = p()
	}
	if chance(0.2) {
		f.Reset = p() / 5
	}
	if chance(0.2) {
		f.Pipe = p() / 5
	}
	if chance(0.3) {
		f.Interrupt = p()
	}
	if chance(0.3) {
		f.Abort = p()
	}
	if chance(0.3) {
		f.MFile = p()
	}
	cfg.Kernel.Faults = f

	s := &cfg.Server
	s.Framing = server.Framing(1 + r.IntN(2))
	s.FrameBytesMax = pick(16, 64, 200, 1024)
	s.QueueBytesMax = s.FrameBytesMax + 8 + pick(0, 1, 100, 1000, 5000, 50000)
	s.ConnsMax = pick(2, 4, 8, 100)
	s.IdleTimeout = time.Duration(pick(-1, 50, 200, 1000)) * time.Millisecond
	s.LingerTimeout = time.Duration(pick(20, 100, 500)) * time.Millisecond
	s.ShutdownTimeout = time.Duration(pick(50, 200, 1000)) * time.Millisecond
	s.AcceptBackoffMin = time.Duration(pick(1, 5, 20)) * time.Millisecond
	s.AcceptBackoffMax = s.AcceptBackoffMin * time.Duration(pick(1, 4, 16))
	s.EventsPerTickMax = pick(1, 3, 16, 256)
	s.AcceptsPerTickMax = pick(1, 2, 64)
	s.ReadBytesPerTickMax = pick(1, 16, 1000, 65536)
	s.ReadBufferBytes = pick(1, 5, 64, 4096)
	s.WriteCallsPerTickMax = pick(1, 2, 8)
	s.PartialKeepBytesMax = pick(1, 1024)

	n := 1 + r.IntN(10)
	for range n {
		k := Kind(r.IntN(int(kindCount)))
		if chance(0.3) {
			k = Chatty
		}
		cfg.Clients = append(cfg.Clients, ClientSpec{
			Kind:    k,
			Frames:  pick(1, 5, 20, 60),
			BodyMax: max(1, min(s.FrameBytesMax, pick(1, 10, 50, 300))),
			Start:   r.IntN(50),
		})
	}
	cfg.FaultSteps = pick(50, 150, 400)
	cfg.DrainSteps = 2_000_000
	cfg.StepTime = time.Duration(pick(0, 1, 5, 20)) * time.Millisecond
	cfg.Shutdown = chance(0.25)
	// Drawn last so the draws above, and so every older seed's world, stay
	// as they were. Linux retries a dropped SYN after 1 s; a world's steps
	// last at most 20 ms, so shorter retries let connects that a full
	// backlog dropped land in the fault phase (the server cannot tell).
	cfg.Kernel.SYNRetry = time.Duration(pick(1, 10, 100, 1000)) * time.Millisecond
	// Drawn after it for the same reason: half the worlds offer the
	// kernel's batched writes, so both forms of the fan-out are checked.
	cfg.BatchWrites = chance(0.5)
	return cfg
}

// String summarises the world in one line, for reports and traces.
func (c Config) String() string {
	kinds := make([]byte, 0, 64)
	for i, cl := range c.Clients {
		if i > 0 {
			kinds = append(kinds, ',')
		}
		kinds = append(kinds, cl.Kind.String()...)
	}
	return fmt.Sprintf("edge=%v batch=%v framing=%v frame=%dB queue=%dB conns=%d bufs=%d/%d faults=%+v clients=[%s] shutdown=%v batch-writes=%v",
		c.Kernel.Edge, c.Kernel.Batch, c.Server.Framing, c.Server.FrameBytesMax, c.Server.QueueBytesMax,
		c.Server.ConnsMax, c.Kernel.RecvBufBytes, c.Kernel.SendBufBytes, c.Kernel.Faults, kinds, c.Shutdown, c.BatchWrites)
}
