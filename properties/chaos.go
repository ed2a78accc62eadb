package properties

import (
	"fmt"
	"strings"
	"time"

	"github.com/mobsim/mobsim/kernel"
)

var _ kernel.Poller = (*ChaosPoller)(nil)

// ExtraKind says which token an invented event names.
type ExtraKind uint8

// Kinds of invented events. Every one is allowed by the seam contract
// ("an event may name a source that is not ready, a source closed earlier in
// the same batch, or a token that was never registered"; "one token may
// appear more than once in a batch").
const (
	// ExtraRetired names a token registered earlier whose source is closed.
	ExtraRetired ExtraKind = iota
	// ExtraOldGen names a live token's slot with the previous generation:
	// what an event left over from the slot's last occupant looks like.
	ExtraOldGen
	// ExtraNextGen names a live token's slot with the next generation: the
	// token the slot gets if it is freed and reused within this very batch.
	ExtraNextGen
	// ExtraDuplicate repeats an event already in the batch.
	ExtraDuplicate
	// ExtraUnknown names a slot beyond any ever registered.
	ExtraUnknown
	// ExtraLive names a live token, ready or not (spurious readiness).
	ExtraLive
	// ExtraListener names token 0, the server's listener.
	ExtraListener
	// ExtraReserved names kernel.ReservedToken, which no caller registers.
	ExtraReserved
	// ExtraKinds is the number of kinds.
	ExtraKinds
)

var extraNames = [ExtraKinds]string{"retired", "old-gen", "next-gen", "dup", "unknown", "live", "listener", "reserved"}

func (k ExtraKind) String() string {
	if k < ExtraKinds {
		return extraNames[k]
	}
	return fmt.Sprintf("ExtraKind(%d)", uint8(k))
}

// Extra is one invented event.
type Extra struct {
	Kind  ExtraKind
	Pick  uint32       // which candidate token, modulo their number
	Ready kernel.Ready // its bits; hints included, never empty
}

// Hint adds hint bits (ReadClosed, WriteClosed, Error) to one event. Hints
// promise nothing, so a false one is allowed.
type Hint struct {
	At   uint32 // the event, modulo the batch size
	Bits kernel.Ready
}

// Chaos is the plan for one batch. The zero plan changes nothing. Indices
// are taken modulo the batch size, so any plan fits any batch, and a shorter
// plan (what a shrinker produces) does less.
type Chaos struct {
	Wake   bool     // poll the kernel with timeout 0: an early wake-up
	Skip   bool     // do not poll the kernel: a batch of invented events only
	Split  []uint32 // events to split kqueue-style into read and write halves
	Hints  []Hint
	Extras []Extra
	Swaps  []uint32 // Fisher–Yates draws from the end; missing draws keep the order
}

// GoString renders the plan on one line; rapid prints drawn values with it.
func (c Chaos) GoString() string {
	var parts []string
	if c.Wake {
		parts = append(parts, "early wake")
	}
	if c.Skip {
		parts = append(parts, "kernel skipped")
	}
	if len(c.Split) > 0 {
		parts = append(parts, fmt.Sprintf("split %v", c.Split))
	}
	for _, h := range c.Hints {
		parts = append(parts, fmt.Sprintf("hint %s on #%d", h.Bits.String(), h.At))
	}
	for _, x := range c.Extras {
		parts = append(parts, fmt.Sprintf("add %v(%d) %s", x.Kind, x.Pick, x.Ready.String()))
	}
	if len(c.Swaps) > 0 {
		parts = append(parts, fmt.Sprintf("swaps %v", c.Swaps))
	}
	if len(parts) == 0 {
		return "as the kernel gave it"
	}
	return strings.Join(parts, ", ")
}

func (c Chaos) String() string { return c.GoString() }

const (
	hintBits = kernel.ReadyReadClosed | kernel.ReadyWriteClosed | kernel.ReadyError
	readBits = kernel.ReadyRead | kernel.ReadyReadClosed | kernel.ReadyError
	wrBits   = kernel.ReadyWrite | kernel.ReadyWriteClosed | kernel.ReadyError
	allBits  = kernel.ReadyRead | kernel.ReadyWrite | hintBits
)

// ChaosStats counts what a ChaosPoller did.
type ChaosStats struct {
	Batches  uint64 // polls that followed a plan
	Kernel   uint64 // real events passed on
	Added    uint64 // invented events
	Split    uint64 // events split in two
	Hinted   uint64 // hint bits added to events
	Shuffled uint64 // batches whose order changed
}

type registration struct {
	src  kernel.Source
	tok  kernel.Token
	gone bool // deregistered or reregistered under another token
}

// ChaosPoller is a kernel.Poller that passes every call through to a kernel
// and, when a plan source is set, reshapes each batch the kernel returns as
// the plan says: it splits events, adds hint bits, invents events for
// retired, reused, never-issued, duplicate and live tokens, and shuffles. It
// never removes or delays a real event, so a server that keeps the seam
// contract behaves the same with it, apart from counting stale events.
//
// It knows the server's token layout (generation<<32 | slot, listener 0) only
// to invent old- and next-generation tokens; any other layout still gets
// valid, if less pointed, events.
type ChaosPoller struct {
	inner kernel.Poller
	open  func(kernel.Source) bool
	name  func(kernel.Source) string
	plan  func() Chaos
	logf  func(format string, args ...any)

	regs          []registration
	live, retired []kernel.Token
	stats         ChaosStats
}

// NewChaosPoller wraps inner. open reports whether a registered source is
// still open (its token live); nil treats every source as open until it is
// deregistered.
func NewChaosPoller(inner kernel.Poller, open func(kernel.Source) bool) *ChaosPoller {
	return &ChaosPoller{inner: inner, open: open}
}

// SetPlan sets the source of plans, called once per Poll. Nil makes the
// poller a plain pass-through.
func (p *ChaosPoller) SetPlan(plan func() Chaos) { p.plan = plan }

// SetLog makes every planned batch logged on one line through logf, naming
// tokens by their source with name (nil: tokens only).
func (p *ChaosPoller) SetLog(logf func(format string, args ...any), name func(kernel.Source) string) {
	p.logf, p.name = logf, name
}

// Stats returns the counters.
func (p *ChaosPoller) Stats() ChaosStats { return p.stats }

// Register passes through and records tok.
func (p *ChaosPoller) Register(src kernel.Source, tok kernel.Token, in kernel.Interest) error {
	if err := p.inner.Register(src, tok, in); err != nil {
		return err
	}
	p.regs = append(p.regs, registration{src: src, tok: tok})
	return nil
}

// Reregister passes through; the old token counts as retired.
func (p *ChaosPoller) Reregister(src kernel.Source, tok kernel.Token, in kernel.Interest) error {
	if err := p.inner.Reregister(src, tok, in); err != nil {
		return err
	}
	if i := p.find(src); i >= 0 && p.regs[i].tok != tok {
		p.regs[i].gone = true
		p.regs = append(p.regs, registration{src: src, tok: tok})
	}
	return nil
}

// Deregister passes through; the token counts as retired.
func (p *ChaosPoller) Deregister(src kernel.Source) error {
	if err := p.inner.Deregister(src); err != nil {
		return err
	}
	if i := p.find(src); i >= 0 {
		p.regs[i].gone = true
	}
	return nil
}

// Now passes through.
func (p *ChaosPoller) Now() time.Duration { return p.inner.Now() }

func (p *ChaosPoller) find(src kernel.Source) int {
	for i := len(p.regs) - 1; i >= 0; i-- {
		if p.regs[i].src == src && !p.regs[i].gone {
			return i
		}
	}
	return -1
}

// Tokens returns the connection tokens registered so far (the listener's
// token 0 excluded), split into live ones and retired ones, in registration
// order. The slices are reused by the next call.
func (p *ChaosPoller) Tokens() (live, retired []kernel.Token) {
	p.live, p.retired = p.live[:0], p.retired[:0]
	for _, r := range p.regs {
		if r.tok == 0 {
			continue
		}
		if r.gone || (p.open != nil && !p.open(r.src)) {
			p.retired = append(p.retired, r.tok)
		} else {
			p.live = append(p.live, r.tok)
		}
	}
	return p.live, p.retired
}

// Poll polls the kernel into the part of events the plan leaves free, then
// splits, hints, invents and shuffles as planned.
func (p *ChaosPoller) Poll(events []kernel.Event, timeout time.Duration) (int, error) {
	if p.plan == nil || len(events) == 0 {
		return p.inner.Poll(events, timeout)
	}
	plan := p.plan()
	p.stats.Batches++
	n := 0
	if !plan.Skip {
		// Leave room for the planned additions, but always poll for at
		// least one real event.
		reserve := min(len(plan.Extras)+len(plan.Split), len(events)-1)
		if plan.Wake {
			timeout = 0
		}
		var err error
		if n, err = p.inner.Poll(events[:len(events)-reserve], timeout); err != nil {
			return n, err
		}
	}
	kernelN := n
	p.stats.Kernel += uint64(n)
	for _, s := range plan.Split {
		if n == 0 || n >= len(events) {
			break
		}
		i := int(s % uint32(n))
		ev := events[i]
		if ev.Ready&kernel.ReadyRead == 0 || ev.Ready&kernel.ReadyWrite == 0 {
			continue
		}
		events[i].Ready = ev.Ready & readBits
		events[n] = kernel.Event{Token: ev.Token, Ready: ev.Ready & wrBits}
		n++
		p.stats.Split++
	}
	for _, h := range plan.Hints {
		if n == 0 || h.Bits&hintBits == 0 {
			continue
		}
		events[h.At%uint32(n)].Ready |= h.Bits & hintBits
		p.stats.Hinted++
	}
	live, retired := p.Tokens()
	for _, x := range plan.Extras {
		if n >= len(events) {
			break
		}
		tok, r := p.invent(x, live, retired, events[:n])
		events[n] = kernel.Event{Token: tok, Ready: r}
		n++
		p.stats.Added++
	}
	swapped := false
	for i, k := n-1, 0; i > 0 && k < len(plan.Swaps); i, k = i-1, k+1 {
		if j := int(plan.Swaps[k] % uint32(i+1)); j != i {
			events[i], events[j] = events[j], events[i]
			swapped = true
		}
	}
	if swapped {
		p.stats.Shuffled++
	}
	if p.logf != nil {
		p.logf("poll: %v", batchDesc{p: p, events: append([]kernel.Event(nil), events[:n]...), kernel: kernelN})
	}
	return n, nil
}

// invent picks the token and bits of one invented event.
func (p *ChaosPoller) invent(x Extra, live, retired []kernel.Token, batch []kernel.Event) (kernel.Token, kernel.Ready) {
	r := x.Ready & allBits
	if r == 0 {
		r = kernel.ReadyRead
	}
	pick := func(ts []kernel.Token) kernel.Token { return ts[int(x.Pick%uint32(len(ts)))] }
	switch x.Kind {
	case ExtraRetired:
		if len(retired) > 0 {
			return pick(retired), r
		}
	case ExtraOldGen:
		if len(live) > 0 {
			t := pick(live)
			if gen, slot := uint64(t)>>32, uint64(t)&0xffffffff; gen > 1 {
				return kernel.Token((gen-1)<<32 | slot), r
			}
			if len(retired) > 0 {
				return pick(retired), r
			}
		}
	case ExtraNextGen:
		if len(live) > 0 {
			t := pick(live)
			return kernel.Token(uint64(t) + 1<<32), r
		}
	case ExtraDuplicate:
		if len(batch) > 0 {
			ev := batch[int(x.Pick%uint32(len(batch)))]
			return ev.Token, ev.Ready
		}
	case ExtraLive:
		if len(live) > 0 {
			return pick(live), r
		}
	case ExtraListener:
		return 0, r
	case ExtraReserved:
		return kernel.ReservedToken, r
	}
	// ExtraUnknown, and the fallback when there is no candidate: a slot
	// past every slot registered so far.
	var slots uint64
	for _, reg := range p.regs {
		slots = max(slots, uint64(reg.tok)&0xffffffff+1)
	}
	return kernel.Token(uint64(1+x.Pick%3)<<32 | (slots + uint64(x.Pick%4))), r
}

// describe names a token for logs: its source's name and (slot, generation).
func (p *ChaosPoller) describe(tok kernel.Token) string {
	switch tok {
	case 0:
		return "listener"
	case kernel.ReservedToken:
		return "reserved"
	}
	tag := fmt.Sprintf("s%dg%d", uint64(tok)&0xffffffff, uint64(tok)>>32)
	for i := len(p.regs) - 1; i >= 0; i-- {
		r := p.regs[i]
		if r.tok != tok {
			continue
		}
		name := "conn"
		if p.name != nil {
			name = p.name(r.src)
		}
		if r.gone || (p.open != nil && !p.open(r.src)) {
			return name + "(closed " + tag + ")"
		}
		return name + "(" + tag + ")"
	}
	return "never-issued(" + tag + ")"
}

// batchDesc formats a batch only if the log line is printed.
type batchDesc struct {
	p      *ChaosPoller
	events []kernel.Event
	kernel int
}

func (b batchDesc) String() string {
	var s strings.Builder
	fmt.Fprintf(&s, "%d events (%d from the kernel):", len(b.events), b.kernel)
	for i, ev := range b.events {
		if i > 0 {
			s.WriteByte(',')
		}
		fmt.Fprintf(&s, " %s %s", b.p.describe(ev.Token), ev.Ready.String())
	}
	return s.String()
}
