package netfake

import "fmt"

// Fault names a kind of injected fault.
type Fault uint8

// Fault kinds. Each one is something a real kernel does to a correct program;
// none of them corrupts, reorders or drops bytes except exactly as a real RST
// does.
const (
	FaultNone          Fault = iota
	FaultShortRead           // Read returns fewer bytes than it could, and a readable edge for the rest (see the package doc)
	FaultShortWrite          // Write/Writev accepts fewer bytes than it could
	FaultSpuriousReady       // Poll adds an event for a live registration that may not be ready
	FaultSpuriousToken       // Poll adds an event for a stale or never-used token, or a duplicate
	FaultReset               // Read/Write/Writev: the peer's RST arrives now; both sides are reset
	FaultPipe                // Write/Writev: the peer is gone; both sides are reset and the write fails with EPIPE
	FaultInterrupt           // Poll returns ErrInterrupted with no events (EINTR)
	FaultAbort               // Accept consumes and resets the first pending connection (ECONNABORTED)
	FaultMFile               // Accept fails with EMFILE below the limit; the backlog is untouched
	faultCount
)

var faultNames = [...]string{
	FaultNone: "none", FaultShortRead: "short-read", FaultShortWrite: "short-write",
	FaultSpuriousReady: "spurious-ready", FaultSpuriousToken: "spurious-token",
	FaultReset: "reset", FaultPipe: "pipe", FaultInterrupt: "eintr",
	FaultAbort: "econnaborted", FaultMFile: "emfile",
}

func (f Fault) String() string {
	if int(f) < len(faultNames) {
		return faultNames[f]
	}
	return fmt.Sprintf("fault(%d)", uint8(f))
}

// FaultPlan gives, per fault kind, the probability (0 to 1) that a syscall
// where the fault can apply gets it. The zero plan injects nothing and draws
// nothing from the rng. A probability is drawn once per eligible syscall
// (per Poll for the Poll faults, per Accept for the accept faults).
type FaultPlan struct {
	ShortRead     float64
	ShortWrite    float64
	SpuriousReady float64
	SpuriousToken float64
	Reset         float64
	Pipe          float64
	Interrupt     float64
	Abort         float64
	MFile         float64
}

// Off reports whether the plan injects nothing.
func (p FaultPlan) Off() bool { return p == FaultPlan{} }

// SetFaults replaces the fault plan; it takes effect at the next syscall.
// The simulator switches faults off for its drain phase this way.
func (k *Kernel) SetFaults(p FaultPlan) { k.faults = p }

// Faults returns the current fault plan.
func (k *Kernel) Faults() FaultPlan { return k.faults }

// FaultCount returns how many faults of kind f were injected so far.
func (k *Kernel) FaultCount(f Fault) uint64 {
	if f >= faultCount {
		return 0
	}
	return k.faultsInjected[f]
}

// chance draws against probability p. It draws nothing when p <= 0, so a
// plan with a kind switched off does not move the rng for that kind.
func (k *Kernel) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	return k.rng.Float64() < p
}
