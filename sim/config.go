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
	Talker                  // reads a little every step and keeps sending, through a shutdown, until its EOF
	Dribbler                // sends its frames a byte now and then, slower than idle time allows
	Holder                  // sends all of a large frame but its last byte, and never finishes it
	Flooder                 // sends as fast as the kernel takes it, and reads everything
	kindCount
)

var kindNames = [kindCount]string{"chatty", "bursty", "slow-reader", "never-reader", "half-closer", "resetter", "reconnecter", "oversized", "idler",
	"talker", "dribbler", "holder", "flooder"}

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
	// Stubborn: once told to go (its error frame, the server's FIN, a
	// shutdown) it keeps its socket and goes on sending frames nobody
	// reads, until a write fails, instead of closing. In the drain it
	// closes at the end of stream like the others.
	Stubborn bool
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
func Swarm(seed uint64) Config { return SwarmOf(seed, SwarmWorlds) }

// SwarmWorlds counts the generations of Swarm's draws. Each generation
// draws only after everything the ones before drew, so SwarmOf(seed, g) is
// the world seed drew when g was the newest, draw for draw: a regression
// seed runs in the world it was found in as well as in today's. (The
// simulator that runs it may have changed since: where the drain now waits
// for more, say, the trace differs from the one the seed first had.)
//
//	1  every draw up to the SYN retry interval
//	2  the server's work in virtual time and transmission inside a tick,
//	   stubborn clients, LingerBytesMax, frames up to 64 KiB (issue 14)
//	3  whether the kernel offers batched writes (issue 17)
//	4  the input budget, frame timeout and input rate, a kernel that cannot
//	   count unacknowledged bytes, and the clients that test them (issue 11)
const SwarmWorlds = 4

// SwarmOf draws seed's world as generation world of Swarm drew it. The
// limits are drawn one by one; the input rate is then raised, where it
// must be, to one the server accepts with the timeouts and frame size
// drawn (server.Config.FitInputRate): no draw is added, so every older
// seed's world stays as it was in all else.
func SwarmOf(seed uint64, world int) Config {
	cfg := drawWorld(seed, world)
	cfg.Server.FitInputRate()
	return cfg
}

func drawWorld(seed uint64, world int) Config {
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
		k := Kind(r.IntN(int(Idler) + 1)) // the kinds before issue 11's: see below
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
	if world < 2 {
		return cfg
	}
	// Drawn last again, for the same reason. Work: the server's syscalls
	// take time, so its deadlines fall due in the middle of traffic, and
	// the network moves between two of its calls.
	w := &cfg.Kernel.Work
	w.SyscallCost = time.Duration(pick(0, 1, 10, 100)) * time.Microsecond
	w.ByteCost = time.Duration(pick(0, 1, 10, 50)) // nanoseconds per byte
	w.Jitter = w.SyscallCost * time.Duration(pick(0, 1, 4))
	w.Transmit = []float64{0, 0.05, 0.3, 1}[r.IntN(4)]
	// Clients that keep talking after they were told to go, and a
	// LingerBytesMax they can reach.
	for i := range cfg.Clients {
		cfg.Clients[i].Stubborn = chance(0.2)
	}
	s.LingerBytesMax = pick(0, 0, 100, 1000, 10000) // 0: the default, 64 KiB
	if chance(0.15) {
		bigFrames(r, &cfg)
	}
	if world < 3 {
		return cfg
	}
	// Generation 3: half the worlds offer the kernel's batched writes, so
	// both forms of the fan-out are checked.
	cfg.BatchWrites = chance(0.5)
	if world < 4 {
		return cfg
	}
	// Generation 4: the limits of issue 11 (an input budget from one frame
	// to plenty, a frame timeout, an input rate in bytes per second of
	// virtual time, a kernel that cannot count unacknowledged bytes) and
	// the clients that test them. LingerBytesMax is generation 2's draw.
	s.InputBytesMax = s.FrameBytesMax + 8 + pick(0, 1, 300, 5000, 1<<20)
	s.FrameTimeout = time.Duration(pick(-1, 30, 150, 1000)) * time.Millisecond
	s.InputRateBytesPerSec = pick(-1, 20_000, 200_000, 5_000_000)
	s.InputBurstBytes = pick(1, 64, 4096, 65536)
	cfg.Kernel.NoUnacked = chance(0.2)
	if chance(0.4) {
		for range 1 + r.IntN(2) {
			cfg.Clients = append(cfg.Clients, ClientSpec{
				Kind:    Talker + Kind(r.IntN(int(kindCount-Talker))),
				Frames:  pick(5, 20, 60),
				BodyMax: max(1, min(s.FrameBytesMax, pick(1, 10, 50, 300))),
				Start:   r.IntN(50),
			})
		}
	}
	return cfg
}

// bigFrames reshapes a world for frames up to 64 KiB, larger than twice
// the broadcast ring's first size (4 KiB) and than the socket buffers, so
// the ring grows by more than one doubling at once and wraps with large
// frames; clients then send fewer of them, and buffers and read budgets
// are kept large enough that a seed still runs in milliseconds.
func bigFrames(r *rand.Rand, cfg *Config) {
	pick := func(xs ...int) int { return xs[r.IntN(len(xs))] }
	s := &cfg.Server
	s.FrameBytesMax = pick(5000, 20000, 65536)
	s.QueueBytesMax = s.FrameBytesMax + 8 + pick(0, 1000, s.FrameBytesMax, 4*s.FrameBytesMax)
	s.ReadBufferBytes = max(s.ReadBufferBytes, pick(512, 4096, 65536))
	s.ReadBytesPerTickMax = max(s.ReadBytesPerTickMax, pick(1000, 65536))
	for _, b := range []*int{&cfg.Kernel.RecvBufBytes, &cfg.Kernel.SendBufBytes, &cfg.Kernel.ClientRecvBufBytes, &cfg.Kernel.ClientSendBufBytes} {
		if *b < 512 {
			*b = pick(512, 4096, 65536)
		}
	}
	for i := range cfg.Clients {
		c := &cfg.Clients[i]
		c.Frames = min(c.Frames, 10)
		if r.IntN(2) == 0 {
			c.BodyMax = s.FrameBytesMax
		}
	}
}

// String summarises the world in one line, for reports and traces.
func (c Config) String() string {
	kinds := make([]byte, 0, 64)
	for i, cl := range c.Clients {
		if i > 0 {
			kinds = append(kinds, ',')
		}
		kinds = append(kinds, cl.Kind.String()...)
		if cl.Stubborn {
			kinds = append(kinds, '!')
		}
	}
	w := c.Kernel.Work
	return fmt.Sprintf("edge=%v batch=%v framing=%v frame=%dB queue=%dB input=%dB frame-timeout=%v rate=%d/s burst=%dB linger-bytes=%d conns=%d bufs=%d/%d read=%dB/tick unacked=%v faults=%+v work=%v+%v/B~%v transmit=%v clients=[%s] shutdown=%v batch-writes=%v",
		c.Kernel.Edge, c.Kernel.Batch, c.Server.Framing, c.Server.FrameBytesMax, c.Server.QueueBytesMax,
		c.Server.InputBytesMax, c.Server.FrameTimeout, c.Server.InputRateBytesPerSec, c.Server.InputBurstBytes, c.Server.LingerBytesMax,
		c.Server.ConnsMax, c.Kernel.RecvBufBytes, c.Kernel.SendBufBytes, c.Server.ReadBytesPerTickMax, !c.Kernel.NoUnacked, c.Kernel.Faults,
		w.SyscallCost, w.ByteCost, w.Jitter, w.Transmit, kinds, c.Shutdown, c.BatchWrites)
}
