package timeline

import (
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/oracle"
)

// Op says what an Event is. The writers give some ops a meaning of their
// own (a tick is a slice, a write delivers frames, gauges are counters);
// the others are shown by their Name and fields.
type Op uint8

// Ops: the server's calls on the seam first, then what the kernel and the
// clients do, then the server's claims, its ticks and gauges, then the
// world's words and the oracle's verdict.
const (
	OpCall      Op = iota + 1 // a server call not named below (listen, accept, register, close, ...): Name says which
	OpRead                    // a server read: N bytes
	OpWrite                   // a server write or writev: N bytes taken of Want asked
	OpPoll                    // a server poll: N events handed out
	OpReady                   // one readiness event a poll handed out: Token, Ready
	OpNet                     // the kernel on its own: data, FIN or RST on the wire (N bytes), a SYN retry, the clock (N ns)
	OpClient                  // a client's call on its socket: Name says which, N bytes
	OpLabel                   // Conn is called Text from here on ("conn 3 (client 2, chatty)")
	OpJoined                  // the server's claim: Conn became a member
	OpLeft                    // the server's claim: Conn left, for Reason
	OpClosed                  // the server's claim: it closed Conn, for Reason
	OpFrame                   // the server's claim: the next frame of the order is N bytes read from Conn
	OpTickBegin               // a server tick begins
	OpTickEnd                 // the tick ends
	OpGauges                  // the server's gauges after a tick: Gauges
	OpNote                    // the world's words (Name says whose: "sim", "client"): Text
	OpViolation               // the oracle's verdict: Violation
)

var opNames = [...]string{
	OpCall: "call", OpRead: "read", OpWrite: "write", OpPoll: "poll", OpReady: "ready",
	OpNet: "net", OpClient: "client", OpLabel: "label", OpJoined: "joined", OpLeft: "left",
	OpClosed: "closed", OpFrame: "frame", OpTickBegin: "tick", OpTickEnd: "tick end",
	OpGauges: "gauges", OpNote: "note", OpViolation: "VIOLATION",
}

func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return "op?"
}

// NoFD is the FD of an event that names no descriptor.
const NoFD = -1

// Event is one fact of a run's timeline, in the order it happened. The
// fields that do not apply to its Op are zero, except FD, which is NoFD
// when there is none.
type Event struct {
	Time  time.Duration // virtual time
	Step  int           // the world's step counter
	Op    Op
	Name  string // short name: "accept", "writev", "net data c->s", "client write"; empty: the Op's
	Conn  uint64 // connection id, 0 if none; the same id on the server's and the client's side
	FD    int32  // the server's descriptor, or NoFD
	Token kernel.Token
	Ready kernel.Ready // OpReady: readiness; a register: its interest
	N     int64        // bytes moved, events handed out, nanoseconds the clock moved: see Op
	Want  int64        // OpWrite: bytes asked for (0: not known)
	Errno string       // the outcome if not success ("EAGAIN", "EOF", "ECONNRESET")
	Fault string       // the fault injected into the call, if any
	// Reason is a close reason: OpLeft and OpClosed.
	Reason string
	// Text is words: OpNote's, OpLabel's name, or what a world that
	// has no field for a fact says of it (shown after the fields).
	Text      string
	Gauges    Gauges            // OpGauges
	Violation *oracle.Violation // OpViolation
}

// Gauges are the server's own counts after a tick.
type Gauges struct {
	Conns     int    // open connections
	Members   int    // connections receiving broadcasts
	RingBytes uint64 // bytes retained in the broadcast log
}

// name is what the event is called in a trace.
func (e *Event) name() string {
	if e.Name != "" {
		return e.Name
	}
	return e.Op.String()
}

// Sink takes a run's events one at a time, in order. Both writers are
// sinks, so one stream feeds either or both; a world other than the
// simulator (a replayed recording) feeds them the same way.
type Sink interface {
	Add(Event)
}

// Sinks fans one stream out to several sinks.
type Sinks []Sink

// Add gives e to every sink, in order.
func (s Sinks) Add(e Event) {
	for _, k := range s {
		k.Add(e)
	}
}

// isCall: the op is one of the server's calls on the seam.
func (o Op) isCall() bool { return o >= OpCall && o <= OpReady }

// byConn holds a value per connection id: small ids, which are every
// world's so far, in a slice, others in a map (looked up, never ranged).
type byConn[T any] struct {
	small []T
	big   map[uint64]*T
}

const smallIDs = 1 << 16

// at returns id's value, made zero on first use.
func (m *byConn[T]) at(id uint64) *T {
	if id < smallIDs {
		for uint64(len(m.small)) <= id {
			var zero T
			m.small = append(m.small, zero)
		}
		return &m.small[id]
	}
	if m.big == nil {
		m.big = make(map[uint64]*T)
	}
	p := m.big[id]
	if p == nil {
		p = new(T)
		m.big[id] = p
	}
	return p
}

// lookup returns id's value, or zero.
func (m *byConn[T]) lookup(id uint64) T {
	if id < uint64(len(m.small)) {
		return m.small[id]
	}
	if p := m.big[id]; p != nil {
		return *p
	}
	var zero T
	return zero
}
