package sim

import (
	"testing"
	"time"

	"github.com/mobsim/mobsim/netfake"
	"github.com/mobsim/mobsim/server"
)

// Hostile clients and faults in the simulator: each case is a world built
// around one kind of abuse, run over many seeds (the rest of the world still
// varies with the seed), with every invariant checked. The same cases run
// on real sockets in package e2e.

// hostileRuns runs seeds worlds, each the seed's swarm world reshaped by
// shape, and returns the server counters summed over all of them, so a test
// can show the abuse really happened.
func hostileRuns(t *testing.T, seeds int, shape func(*Config)) server.Stats {
	t.Helper()
	if testing.Short() {
		seeds = min(seeds, 20)
	}
	var sum server.Stats
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		cfg := Swarm(seed)
		shape(&cfg)
		// The budget the seed drew must still hold the largest frame of
		// the world the shape made.
		cfg.Server.InputBytesMax = max(cfg.Server.InputBytesMax, cfg.Server.FrameBytesMax+server.MobHeaderBytes)
		cfg.Server.FitInputRate() // and its rate, the timeouts the shape set
		rep := Run(seed, cfg, Options{})
		if !rep.OK() {
			t.Fatalf("seed %d: %v\n  world: %s", seed, rep.Violation, rep.World)
		}
		for r := range rep.Stats.Closed {
			sum.Closed[r] += rep.Stats.Closed[r]
		}
		sum.AcceptPauses += rep.Stats.AcceptPauses
		sum.AcceptErrors += rep.Stats.AcceptErrors
		sum.FramesIn += rep.Stats.FramesIn
		sum.Throttles += rep.Stats.Throttles
	}
	return sum
}

// happened fails unless the abuse under test occurred at least once.
func happened(t *testing.T, what string, n uint64) {
	t.Helper()
	if n == 0 {
		t.Fatalf("no seed exercised %s: the test proves nothing", what)
	}
	t.Logf("%s: %d times", what, n)
}

func clientsOf(kinds ...Kind) []ClientSpec {
	var cs []ClientSpec
	for i, k := range kinds {
		cs = append(cs, ClientSpec{Kind: k, Frames: 20, BodyMax: 40, Start: i})
	}
	return cs
}

// Oversized frames, both framings: the offender is told and closed; the
// frames before it and everyone else's are delivered.
func TestHostileOversized(t *testing.T) {
	st := hostileRuns(t, 100, func(c *Config) {
		c.Server.FrameBytesMax = 32
		c.Server.QueueBytesMax = 4096
		c.Clients = clientsOf(Oversized, Oversized, Chatty, Chatty)
		for i := range c.Clients {
			c.Clients[i].BodyMax = 32
		}
	})
	happened(t, "protocol-error closes", st.Closed[server.ReasonFrameTooLarge]+st.Closed[server.ReasonBadHeader])
}

// Binary bodies with NUL and every byte value relay byte-exact (mob
// framing draws bodies from all 256 values).
func TestHostileBinaryBodies(t *testing.T) {
	st := hostileRuns(t, 100, func(c *Config) {
		c.Server.Framing = server.FramingMob
		c.Clients = clientsOf(Chatty, Bursty, Chatty)
	})
	happened(t, "frames", st.FramesIn)
}

// Slowloris: every byte crosses the network one at a time (1-byte client
// send buffers), and an idler that never sends is closed by the idle
// timeout, gracefully.
func TestHostileSlowloris(t *testing.T) {
	st := hostileRuns(t, 100, func(c *Config) {
		c.Kernel.ClientSendBufBytes = 1
		c.Kernel.RecvBufBytes = 1
		c.Server.IdleTimeout = 50 * time.Millisecond
		c.StepTime = 2 * time.Millisecond
		c.Clients = clientsOf(Chatty, Idler, Chatty, Idler)
	})
	happened(t, "idle closes", st.Closed[server.ReasonIdle])
}

// A client that never reads is closed at the queue limit; the others see
// no gap.
func TestHostileNeverReader(t *testing.T) {
	st := hostileRuns(t, 100, func(c *Config) {
		c.Server.QueueBytesMax = c.Server.FrameBytesMax + 8 + 100
		c.Kernel.SendBufBytes = 64
		c.Kernel.ClientRecvBufBytes = 64
		c.Clients = clientsOf(NeverReader, Bursty, Chatty, Chatty)
	})
	happened(t, "queue-limit closes", st.Closed[server.ReasonQueueLimit])
}

// A connect flood past ConnsMax: the extra clients get the error frame and
// are closed; members are unaffected.
func TestHostileConnectFlood(t *testing.T) {
	st := hostileRuns(t, 100, func(c *Config) {
		c.Server.ConnsMax = 3
		c.Backlog = 64
		c.Kernel.FDMax = 1024
		c.Clients = clientsOf(Chatty, Chatty, Reconnecter, Reconnecter, Reconnecter, Chatty, Chatty, Reconnecter)
		for i := range c.Clients {
			c.Clients[i].Start = 0
		}
	})
	happened(t, "conns-limit rejections", st.Closed[server.ReasonConnsLimit])
}

// fd exhaustion: a tiny fd limit plus injected EMFILE. Accepting backs off
// on a timer (never spins: the step count stays bounded) and the backlog is
// served once fds free up.
func TestHostileEMFILE(t *testing.T) {
	st := hostileRuns(t, 100, func(c *Config) {
		c.Kernel.FDMax = 3
		c.Kernel.Faults.MFile = 0.3
		c.Backlog = 16
		c.Clients = clientsOf(Reconnecter, Chatty, Reconnecter, HalfCloser, Chatty)
	})
	happened(t, "accept back-offs", st.AcceptPauses)
}

// RST storms and half-closes mid-frame.
func TestHostileResetStorm(t *testing.T) {
	st := hostileRuns(t, 100, func(c *Config) {
		c.Kernel.Faults.Reset = 0.02
		c.Kernel.Faults.Pipe = 0.02
		c.Kernel.Faults.Abort = 0.2
		c.Clients = clientsOf(Resetter, Resetter, HalfCloser, Resetter, HalfCloser, Chatty, Resetter)
	})
	happened(t, "reset closes", st.Closed[server.ReasonReset]+st.Closed[server.ReasonWriteError])
}

// Graceful shutdown while clients chat: everything accepted before it is
// delivered (the oracle checks each shutdown close promised a full flush)
// and nothing leaks.
func TestHostileShutdownWhileChatting(t *testing.T) {
	st := hostileRuns(t, 100, func(c *Config) {
		c.Shutdown = true
		c.Kernel.Faults = netfake.FaultPlan{}
		c.Clients = clientsOf(Chatty, Bursty, Chatty, SlowReader)
	})
	happened(t, "shutdown closes", st.Closed[server.ReasonShutdown])
}

// Clients that keep talking after they were told to go (their error frame,
// the server's FIN, a graceful shutdown) while the server's work takes time
// and the network moves between its syscalls: every leave lasts to its
// linger or shutdown deadline with input still arriving as the server
// closes (what they send waits for the window each read opens), and no
// close that promises the flush may reset the connection with input it
// could have read (bytes arriving right after the read that the close
// follows at once are the only excuse), nor come late.
func TestHostileStubborn(t *testing.T) {
	st := hostileRuns(t, 100, func(c *Config) {
		c.Kernel.Work = netfake.Work{SyscallCost: 100 * time.Microsecond, Jitter: 200 * time.Microsecond, Transmit: 0.3}
		c.Kernel.RecvBufBytes = 7
		c.Server.LingerBytesMax = 1 << 20 // they talk until the deadline
		c.Server.IdleTimeout = 50 * time.Millisecond
		c.Server.ConnsMax = 100
		c.Shutdown = true
		c.Clients = clientsOf(Chatty, Oversized, Idler, Chatty, Oversized, Oversized, Idler, Chatty)
		for i := range c.Clients {
			c.Clients[i].Stubborn = true
		}
	})
	happened(t, "graceful closes after a leave", st.Closed[server.ReasonIdle]+st.Closed[server.ReasonFrameTooLarge]+st.Closed[server.ReasonBadHeader]+st.Closed[server.ReasonShutdown])
	happened(t, "shutdown-timeout and linger-timeout closes", st.Closed[server.ReasonShutdownTimeout]+st.Closed[server.ReasonLingerTimeout])
}

// The four breaks of issue 11, each a world that fails on the server
// before the fix (the report names what each caught then).

// A client that reads slowly and keeps talking through a shutdown gets
// every frame accepted before it: the server may not cut it for what it
// sends while it is still owed output (the oracle: linger-bytes ends only a
// client that ignored its error frame). Before the fix it was cut once it
// had sent LingerBytesMax (here 64) after the shutdown began.
func TestHostileShutdownTalker(t *testing.T) {
	st := hostileRuns(t, 100, func(c *Config) {
		c.Shutdown = true
		c.Kernel.Faults = netfake.FaultPlan{}
		c.Kernel.SendBufBytes, c.Kernel.ClientRecvBufBytes = 64, 64
		c.Server.QueueBytesMax = 1 << 20
		c.Server.LingerBytesMax = 64
		c.Server.LingerTimeout, c.Server.ShutdownTimeout = 10*time.Second, 10*time.Second
		c.Clients = clientsOf(Talker, Talker, Chatty, Bursty)
	})
	happened(t, "shutdown closes", st.Closed[server.ReasonShutdown])
}

// Clients that hold large unfinished frames cannot hold more than
// InputBytesMax between them (the oracle's memory bound): at the budget
// the largest holder is told and leaves; the chatters are served. Before
// the fix nothing bounded them.
func TestHostileInputBudget(t *testing.T) {
	st := hostileRuns(t, 100, func(c *Config) {
		c.Server.FrameBytesMax = 200
		c.Server.QueueBytesMax = 4096
		c.Server.InputBytesMax = 2 * (200 + 8)
		c.Server.FrameTimeout = -1
		c.Clients = clientsOf(Holder, Holder, Chatty, Holder, Holder, Chatty)
	})
	happened(t, "input-budget evictions", st.Closed[server.ReasonInputBudget])
}

// Idle time counts complete frames: a client that dribbles a byte now and
// then, slower than a frame per IdleTimeout, is idle, and is told so and
// let go within the tick its timeout falls due in (the oracle checks that
// no member outlives its timeout past a tick). With the idle timeout off,
// the frame timeout does the same. Before the fix every byte reset the
// idle timer.
func TestHostileDribbler(t *testing.T) {
	for _, timer := range []string{"idle", "frame"} {
		st := hostileRuns(t, 100, func(c *Config) {
			c.StepTime = 20 * time.Millisecond // a byte every 7 steps: 140 ms
			c.Server.IdleTimeout, c.Server.FrameTimeout = 50*time.Millisecond, -1
			if timer == "frame" {
				c.Server.IdleTimeout, c.Server.FrameTimeout = -1, 100*time.Millisecond
			}
			c.Clients = clientsOf(Dribbler, Chatty, Dribbler, Chatty)
		})
		n := st.Closed[server.ReasonIdle]
		if timer == "frame" {
			n = st.Closed[server.ReasonFrameTimeout]
		}
		happened(t, timer+" closes", n)
	}
}

// One flooder costs nobody their connection: the input rate (here 200
// bytes per millisecond) reads it no faster than the chatters, who read
// every step, can take, so none falls QueueBytesMax behind. Before the
// fix the flooder's frames pushed every member past the queue limit.
func TestHostileFlooder(t *testing.T) {
	st := hostileRuns(t, 100, func(c *Config) {
		c.Kernel.Faults = netfake.FaultPlan{}
		c.Kernel.SendBufBytes, c.Kernel.ClientRecvBufBytes = 4096, 4096
		// Steps of 1 ms that the server's work does not stretch: the rate
		// is set against what a reader takes per step.
		c.StepTime, c.Kernel.Work = time.Millisecond, netfake.Work{}
		c.Server.QueueBytesMax = c.Server.FrameBytesMax + 8 + 1000
		c.Server.ReadBytesPerTickMax = 65536
		c.Server.InputRateBytesPerSec, c.Server.InputBurstBytes = 200_000, 1024
		c.Clients = clientsOf(Flooder, Chatty, Chatty, Chatty)
	})
	if n := st.Closed[server.ReasonQueueLimit]; n > 0 {
		t.Fatalf("%d clients evicted for queue-limit beside a rate-limited flooder", n)
	}
	happened(t, "throttles of the flooder", st.Throttles)
}
