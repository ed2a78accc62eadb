package properties

import (
	"fmt"
	"strings"
	"time"

	"pgregory.net/rapid"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
	"github.com/mobsim/mobsim/server"
)

// This file holds the generators: the worlds, fault plans and batch plans
// rapid draws, and the tally of what the draws exercised.

// worldConfig is everything a world is built from.
type worldConfig struct {
	Seed    uint64 // the kernel's PRNG
	Kernel  netfake.Config
	Server  server.Config
	Backlog int
	Clients int // open clients at most (three times as many over a run)
	// BatchWrites offers the server the kernel's kernel.BatchWriter
	// (through the chaos poller), so its fan-out goes as one batch.
	BatchWrites bool
}

// GoString renders the configuration on one line; rapid prints it so.
func (wc worldConfig) GoString() string {
	s, k := wc.Server, wc.Kernel
	return fmt.Sprintf("%v framing, frames<=%dB, queue<=%dB, input<=%dB, conns<=%d, idle %v, frame timeout %v, rate %v/s burst %dB, linger %v; per tick %d events, %d accepts, %d read bytes, %d writes; read buffer %dB | kernel %v/%v, server bufs rcv %d snd %d, client bufs rcv %d snd %d, backlog %d, fds<=%d, unacked counted %v, faults %s, batch writes %v, seed %#x",
		s.Framing, s.FrameBytesMax, s.QueueBytesMax, s.InputBytesMax, s.ConnsMax, durOrOff(s.IdleTimeout), durOrOff(s.FrameTimeout),
		rateOrOff(s.InputRateBytesPerSec), s.InputBurstBytes, s.LingerTimeout,
		s.EventsPerTickMax, s.AcceptsPerTickMax, s.ReadBytesPerTickMax, s.WriteCallsPerTickMax, s.ReadBufferBytes,
		k.Edge, k.Batch, k.RecvBufBytes, k.SendBufBytes, k.ClientRecvBufBytes, k.ClientSendBufBytes, wc.Backlog,
		k.FDMax, !k.NoUnacked, faultString(k.Faults), wc.BatchWrites, wc.Seed)
}

func durOrOff(d time.Duration) string {
	if d < 0 {
		return "off"
	}
	return d.String()
}

func rateOrOff(r int) string {
	if r < 0 {
		return "off"
	}
	return fmt.Sprint(r)
}

// worldGen draws a world: small buffers and budgets so partial reads and
// writes, budget cuts and would-blocks happen in a few steps. With faults,
// the kernel starts with a random fault plan.
func worldGen(faults bool) *rapid.Generator[worldConfig] {
	return rapid.Custom(func(t *rapid.T) worldConfig {
		pick := func(label string, xs ...int) int { return rapid.SampledFrom(xs).Draw(t, label) }
		var wc worldConfig
		wc.Seed = rapid.Uint64().Draw(t, "seed")
		k := &wc.Kernel
		k.Edge = netfake.EdgeMode(pick("edge", 0, 1))
		k.Batch = netfake.BatchShape(pick("batch", 0, 1))
		k.RecvBufBytes = pick("rcvbuf", 4096, 1, 3, 16)
		k.SendBufBytes = pick("sndbuf", 4096, 1, 3, 16)
		k.ClientRecvBufBytes = pick("client rcvbuf", 4096, 1, 16)
		k.ClientSendBufBytes = pick("client sndbuf", 4096, 1, 16)
		k.FDMax = pick("fd max", 1024, 3, 5) // the listener's fd included
		if faults {
			k.Faults = faultPlanGen().Draw(t, "faults")
		}
		s := &wc.Server
		s.Framing = server.Framing(pick("framing", 1, 2))
		s.FrameBytesMax = pick("frame max", 16, 8, 48)
		s.QueueBytesMax = s.FrameBytesMax + server.MobHeaderBytes + pick("queue slack", 4096, 0, 24)
		s.ConnsMax = pick("conns max", 100, 2, 3)
		s.IdleTimeout = -1
		if oneIn(t, 3, "idle on") {
			s.IdleTimeout = time.Duration(pick("idle ms", 50, 1000)) * time.Millisecond
		}
		s.LingerTimeout = time.Duration(pick("linger ms", 1000, 20)) * time.Millisecond
		s.ShutdownTimeout = time.Duration(pick("shutdown ms", 1000, 30)) * time.Millisecond
		s.AcceptBackoffMin = time.Millisecond
		s.AcceptBackoffMax = 8 * time.Millisecond
		s.EventsPerTickMax = pick("events per tick", 256, 1, 2, 3)
		s.AcceptsPerTickMax = pick("accepts per tick", 128, 1, 2)
		s.ReadBytesPerTickMax = pick("read bytes per tick", 65536, 3, 16)
		s.ReadBufferBytes = pick("read buffer", 4096, 1, 5)
		s.WriteCallsPerTickMax = pick("writes per tick", 8, 1, 2)
		s.PartialKeepBytesMax = pick("partial keep", 1024, 1)
		// The limits of issue 11, small enough to bite: an input budget of
		// one frame or a few, a frame timeout, an input rate of a few
		// bytes per millisecond, a kernel that cannot count
		// unacknowledged bytes.
		s.InputBytesMax = s.FrameBytesMax + server.MobHeaderBytes + pick("input slack", 4096, 0, 24)
		s.FrameTimeout = -1
		if oneIn(t, 3, "frame timeout on") {
			s.FrameTimeout = time.Duration(pick("frame timeout ms", 50, 1000)) * time.Millisecond
		}
		s.InputRateBytesPerSec = -1
		if oneIn(t, 3, "rate on") {
			s.InputRateBytesPerSec = pick("rate bytes/s", 2000, 20000)
		}
		s.InputBurstBytes = pick("burst", 4096, 16)
		s.FitInputRate() // a rate the server accepts with the timeouts drawn
		k.NoUnacked = oneIn(t, 4, "no unacked count")
		wc.Backlog = pick("backlog", 8, 1, 2)
		wc.Clients = 5
		wc.BatchWrites = rapid.Bool().Draw(t, "batch writes") // last: older fail files replay as they were
		return wc
	})
}

// faultPlanGen draws a fault plan: each kind off or at a rate that makes it
// happen within a few steps (resets rarer: each one ends a connection).
func faultPlanGen() *rapid.Generator[netfake.FaultPlan] {
	return rapid.Custom(func(t *rapid.T) netfake.FaultPlan {
		rate := func(label string, on float64) float64 {
			if oneIn(t, 4, label) {
				return on
			}
			return 0
		}
		return netfake.FaultPlan{
			ShortRead:     rate("short-read", 0.3),
			ShortWrite:    rate("short-write", 0.3),
			SpuriousReady: rate("spurious-ready", 0.2),
			SpuriousToken: rate("spurious-token", 0.2),
			Reset:         rate("reset", 0.005),
			Pipe:          rate("pipe", 0.005),
			Interrupt:     rate("eintr", 0.2),
			Abort:         rate("econnaborted", 0.2),
			MFile:         rate("emfile", 0.3),
		}
	})
}

// oneIn draws true about once in n. It tests for a value away from both
// ends of the range, which rapid draws more often than the rest, and shrinks
// towards false.
func oneIn(t *rapid.T, n int, label string) bool {
	return rapid.IntRange(0, n-1).Draw(t, label) == n/2
}

func faultString(p netfake.FaultPlan) string {
	var on []string
	for _, f := range []struct {
		name string
		p    float64
	}{
		{"short-read", p.ShortRead}, {"short-write", p.ShortWrite}, {"spurious-ready", p.SpuriousReady},
		{"spurious-token", p.SpuriousToken}, {"reset", p.Reset}, {"pipe", p.Pipe}, {"eintr", p.Interrupt},
		{"econnaborted", p.Abort}, {"emfile", p.MFile},
	} {
		if f.p > 0 {
			on = append(on, fmt.Sprintf("%s=%g", f.name, f.p))
		}
	}
	if len(on) == 0 {
		return "none"
	}
	return strings.Join(on, ",")
}

// chaosGen draws one batch plan. About half the batches are left as the
// kernel gave them; a shrinker moves towards that.
func chaosGen() *rapid.Generator[chaosPlan] {
	return rapid.Custom(func(t *rapid.T) chaosPlan {
		var c chaosPlan
		if !rapid.Bool().Draw(t, "on") {
			return c
		}
		c.Wake = rapid.Bool().Draw(t, "wake")
		c.Skip = oneIn(t, 8, "skip")
		c.Split = rapid.SliceOfN(rapid.Uint32Max(15), 0, 2).Draw(t, "split")
		c.Hints = rapid.SliceOfN(rapid.Custom(func(t *rapid.T) hint {
			return hint{At: rapid.Uint32Max(15).Draw(t, "at"), Bits: kernel.Ready(rapid.IntRange(1, 7).Draw(t, "bits")) << 2}
		}), 0, 2).Draw(t, "hints")
		c.Extras = rapid.SliceOfN(rapid.Custom(func(t *rapid.T) extra {
			return extra{
				Kind:  extraKind(rapid.IntRange(0, int(extraKinds)-1).Draw(t, "kind")),
				Pick:  rapid.Uint32Max(15).Draw(t, "pick"),
				Ready: kernel.Ready(rapid.IntRange(1, 31).Draw(t, "ready")),
			}
		}), 0, 4).Draw(t, "extras")
		c.Swaps = rapid.SliceOfN(rapid.Uint32Max(15), 0, 8).Draw(t, "swaps")
		return c
	})
}

// tally sums what the checks of one property exercised, so a run can show
// that the generators reach the paths the property is about.
type tally struct {
	checks, clients, made, frames, stale, added, split, hinted int
	batchWorlds, batches, batched                              int
	closed                                                     [16]int
}

func (ty *tally) add(w *world) {
	st, cs := w.srv.Stats(), w.poll.Stats()
	ty.checks++
	ty.clients += len(w.clients)
	ty.frames += int(st.FramesIn)
	ty.made += w.seq
	ty.stale += int(st.StaleEvents)
	ty.added += int(cs.Added)
	ty.split += int(cs.Split)
	ty.hinted += int(cs.Hinted)
	if w.wc.BatchWrites {
		ty.batchWorlds++
	}
	ty.batches += int(st.WriteBatches)
	ty.batched += int(st.BatchedWrites)
	for _, r := range server.Reasons() {
		ty.closed[r] += int(st.Closed[r])
	}
}

func (ty *tally) String() string {
	var closes []string
	for _, r := range server.Reasons() {
		if n := ty.closed[r]; n > 0 {
			closes = append(closes, fmt.Sprintf("%v=%d", r, n))
		}
	}
	return fmt.Sprintf("%d checks: %d clients, %d frames made, %d read, %d stale events; chaos added %d events, split %d, hinted %d; %d worlds batched their writes (%d batches, %d writes); closes %s",
		ty.checks, ty.clients, ty.made, ty.frames, ty.stale, ty.added, ty.split, ty.hinted, ty.batchWorlds, ty.batches, ty.batched, strings.Join(closes, " "))
}
