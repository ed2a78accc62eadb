package properties

import (
	"fmt"
	"strings"
	"time"

	"github.com/mobsim/mobsim/kernel"
)

var _ kernel.Poller = (*chaosPoller)(nil)

// extraKind says which token an invented event names.
type extraKind uint8

// Kinds of invented events. Every one is allowed by the seam contract
// ("an event may name a source that is not ready, a source closed earlier in
// the same batch, or a token that was never registered"; "one token may
// appear more than once in a batch").
const (
	// extraRetired names a token registered earlier whose source is closed.
	extraRetired extraKind = iota
	// extraOldGen names the token a live token's slot had before: what an
	// event left over from the slot's last occupant looks like.
	extraOldGen
	// extraNextGen names the token a live token's slot gets next, if it is
	// freed and reused within this very batch.
	extraNextGen
	// extraDuplicate repeats an event already in the batch.
	extraDuplicate
	// extraUnknown names a token beyond any ever registered.
	extraUnknown
	// extraLive names a live token, ready or not (spurious readiness).
	extraLive
	// extraListener names the listener's token.
	extraListener
	// extraReserved names kernel.ReservedToken, which no caller registers.
	extraReserved
	// extraKinds is the number of kinds.
	extraKinds
)

var extraNames = [extraKinds]string{"retired", "old-gen", "next-gen", "dup", "unknown", "live", "listener", "reserved"}

func (k extraKind) String() string {
	if k < extraKinds {
		return extraNames[k]
	}
	return fmt.Sprintf("extraKind(%d)", uint8(k))
}

// extra is one invented event.
type extra struct {
	Kind  extraKind
	Pick  uint32       // which candidate token, modulo their number
	Ready kernel.Ready // its bits; hints included, never empty
}

// hint adds hint bits (ReadClosed, WriteClosed, Error) to one event. Hints
// promise nothing, so a false one is allowed.
type hint struct {
	At   uint32 // the event, modulo the batch size
	Bits kernel.Ready
}

// chaosPlan is the plan for one batch. The zero plan changes nothing. Indices
// are taken modulo the batch size, so any plan fits any batch, and a shorter
// plan (what a shrinker produces) does less.
type chaosPlan struct {
	Wake   bool     // poll the kernel with timeout 0: an early wake-up
	Skip   bool     // do not poll the kernel: a batch of invented events only
	Split  []uint32 // events to split kqueue-style into read and write halves
	Hints  []hint
	Extras []extra
	Swaps  []uint32 // Fisher–Yates draws from the end; missing draws keep the order
}

// GoString renders the plan on one line; rapid prints drawn values with it.
func (c chaosPlan) GoString() string {
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

func (c chaosPlan) String() string { return c.GoString() }

const (
	hintBits = kernel.ReadyReadClosed | kernel.ReadyWriteClosed | kernel.ReadyError
	readBits = kernel.ReadyRead | kernel.ReadyReadClosed | kernel.ReadyError
	wrBits   = kernel.ReadyWrite | kernel.ReadyWriteClosed | kernel.ReadyError
	allBits  = kernel.ReadyRead | kernel.ReadyWrite | hintBits
)

// chaosStats counts what a chaosPoller did.
type chaosStats struct {
	Batches  uint64 // polls that followed a plan
	Kernel   uint64 // real events passed on
	Added    uint64 // invented events
	Split    uint64 // events split in two
	Hinted   uint64 // hint bits added to events
	Shuffled uint64 // batches whose order changed
}

type registration struct {
	src      kernel.Source
	tok      kernel.Token
	listener bool         // the source is a listener
	gone     bool         // deregistered or reregistered under another token
	noticed  bool         // seen retired at a later registration
	prev     kernel.Token // the token this one's slot had before, if seen
	hasPrev  bool
}

// chaosPoller is a kernel.Poller that passes every call through to a kernel
// and, when a plan source is set, reshapes each batch the kernel returns as
// the plan says: it splits events, adds hint bits, invents events for
// retired, reused, never-issued, duplicate and live tokens, and shuffles. It
// never removes or delays a real event, so a server that keeps the seam
// contract behaves the same with it, apart from counting stale events.
//
// It does not know how the server makes its tokens; it learns what it needs
// from the registrations it passes on. A connection registered right after
// exactly one other was retired most likely took its slot: that pair gives
// the live token's previous token (an old-generation event) and the step
// from one token of a slot to the next (a next-generation event: the token
// the slot gets if it is freed and reused within this very batch). Until it
// has seen a reuse, or for a server that keeps no slots, its events are
// still valid, only less pointed.
type chaosPoller struct {
	inner kernel.Poller
	open  func(kernel.Source) bool
	name  func(kernel.Source) string
	plan  func() chaosPlan
	logf  func(format string, args ...any)

	regs          []registration
	step          kernel.Token // from a slot's token to its next one, once seen
	stepSeen      bool
	live, retired []kernel.Token
	stats         chaosStats
}

// newChaosPoller wraps inner. open reports whether a registered source is
// still open (its token live); nil treats every source as open until it is
// deregistered.
func newChaosPoller(inner kernel.Poller, open func(kernel.Source) bool) *chaosPoller {
	return &chaosPoller{inner: inner, open: open}
}

// SetPlan sets the source of plans, called once per Poll. Nil makes the
// poller a plain pass-through.
func (p *chaosPoller) SetPlan(plan func() chaosPlan) { p.plan = plan }

// SetLog makes every planned batch logged on one line through logf, naming
// tokens by their source with name (nil: tokens only).
func (p *chaosPoller) SetLog(logf func(format string, args ...any), name func(kernel.Source) string) {
	p.logf, p.name = logf, name
}

// Stats returns the counters.
func (p *chaosPoller) Stats() chaosStats { return p.stats }

// Register passes through and records tok, and what it says about the
// server's tokens (see chaosPoller).
func (p *chaosPoller) Register(src kernel.Source, tok kernel.Token, in kernel.Interest) error {
	if err := p.inner.Register(src, tok, in); err != nil {
		return err
	}
	_, isListener := src.(kernel.Listener)
	reg := registration{src: src, tok: tok, listener: isListener}
	freed, n := -1, 0
	for i := range p.regs {
		if r := &p.regs[i]; !r.listener && !r.noticed && p.isRetired(r) {
			r.noticed = true
			freed, n = i, n+1
		}
	}
	if n == 1 && !isListener {
		reg.prev, reg.hasPrev = p.regs[freed].tok, true
		p.step, p.stepSeen = tok-reg.prev, true
	}
	p.regs = append(p.regs, reg)
	return nil
}

func (p *chaosPoller) isRetired(r *registration) bool {
	return r.gone || (p.open != nil && !p.open(r.src))
}

// Reregister passes through; the old token counts as retired.
func (p *chaosPoller) Reregister(src kernel.Source, tok kernel.Token, in kernel.Interest) error {
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
func (p *chaosPoller) Deregister(src kernel.Source) error {
	if err := p.inner.Deregister(src); err != nil {
		return err
	}
	if i := p.find(src); i >= 0 {
		p.regs[i].gone = true
	}
	return nil
}

// Now passes through.
func (p *chaosPoller) Now() time.Duration { return p.inner.Now() }

func (p *chaosPoller) find(src kernel.Source) int {
	for i := len(p.regs) - 1; i >= 0; i-- {
		if p.regs[i].src == src && !p.regs[i].gone {
			return i
		}
	}
	return -1
}

// Tokens returns the connection tokens registered so far (listeners
// excluded), split into live ones and retired ones, in registration order.
// The slices are reused by the next call.
func (p *chaosPoller) Tokens() (live, retired []kernel.Token) {
	p.live, p.retired = p.live[:0], p.retired[:0]
	for i := range p.regs {
		r := &p.regs[i]
		switch {
		case r.listener:
		case p.isRetired(r):
			p.retired = append(p.retired, r.tok)
		default:
			p.live = append(p.live, r.tok)
		}
	}
	return p.live, p.retired
}

// Poll polls the kernel into the part of events the plan leaves free, then
// splits, hints, invents and shuffles as planned.
func (p *chaosPoller) Poll(events []kernel.Event, timeout time.Duration) (int, error) {
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
func (p *chaosPoller) invent(x extra, live, retired []kernel.Token, batch []kernel.Event) (kernel.Token, kernel.Ready) {
	r := x.Ready & allBits
	if r == 0 {
		r = kernel.ReadyRead
	}
	pick := func(ts []kernel.Token) kernel.Token { return ts[int(x.Pick%uint32(len(ts)))] }
	switch x.Kind {
	case extraRetired:
		if len(retired) > 0 {
			return pick(retired), r
		}
	case extraOldGen:
		if len(live) > 0 {
			if reg := p.reg(pick(live)); reg != nil && reg.hasPrev {
				return reg.prev, r
			}
			if len(retired) > 0 {
				return pick(retired), r
			}
		}
	case extraNextGen:
		if len(live) > 0 && p.stepSeen {
			return pick(live) + p.step, r
		}
	case extraDuplicate:
		if len(batch) > 0 {
			ev := batch[int(x.Pick%uint32(len(batch)))]
			return ev.Token, ev.Ready
		}
	case extraLive:
		if len(live) > 0 {
			return pick(live), r
		}
	case extraListener:
		for i := range p.regs {
			if p.regs[i].listener {
				return p.regs[i].tok, r
			}
		}
	case extraReserved:
		return kernel.ReservedToken, r
	case extraUnknown: // below
	}
	// extraUnknown, and the fallback when there is no candidate: a token
	// past every token registered so far.
	var top kernel.Token
	for _, reg := range p.regs {
		top = max(top, reg.tok)
	}
	return top + 1 + kernel.Token(x.Pick%4), r
}

// reg returns the latest registration of tok, or nil.
func (p *chaosPoller) reg(tok kernel.Token) *registration {
	for i := len(p.regs) - 1; i >= 0; i-- {
		if p.regs[i].tok == tok {
			return &p.regs[i]
		}
	}
	return nil
}

// describe names a token for logs: its source's name and the token.
func (p *chaosPoller) describe(tok kernel.Token) string {
	if tok == kernel.ReservedToken {
		return "reserved"
	}
	tag := fmt.Sprintf("%#x", uint64(tok))
	r := p.reg(tok)
	switch {
	case r == nil:
		return "never-issued(" + tag + ")"
	case r.listener:
		return "listener"
	}
	name := "conn"
	if p.name != nil {
		name = p.name(r.src)
	}
	if p.isRetired(r) {
		return name + "(closed " + tag + ")"
	}
	return name + "(" + tag + ")"
}

// batchDesc formats a batch only if the log line is printed.
type batchDesc struct {
	p      *chaosPoller
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
