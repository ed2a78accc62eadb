package timeline

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Filter selects the events a text trace shows. The zero Filter shows
// everything; a violation is shown whatever the filter.
type Filter struct {
	Conn uint64 // only this connection's events (0: all)
	// Steps, if set, shows only steps From to To, both included.
	Steps    bool
	From, To int
}

func (f Filter) keep(e *Event) bool {
	if e.Op == OpViolation {
		return true
	}
	if f.Conn != 0 && e.Conn != f.Conn {
		return false
	}
	return !f.Steps || (e.Step >= f.From && e.Step <= f.To)
}

// ParseSteps parses "A:B" (steps A to B), "A:" (from A on) or ":B" (up to
// B) into a filter's step range.
func ParseSteps(s string) (from, to int, err error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, fmt.Errorf("steps %q: want A:B, A: or :B", s)
	}
	from, to = 0, int(^uint(0)>>1)
	if a != "" {
		if from, err = strconv.Atoi(a); err != nil || from < 0 {
			return 0, 0, fmt.Errorf("steps %q: %q is not a step", s, a)
		}
	}
	if b != "" {
		if to, err = strconv.Atoi(b); err != nil || to < 0 {
			return 0, 0, fmt.Errorf("steps %q: %q is not a step", s, b)
		}
	}
	if from > to {
		return 0, 0, fmt.Errorf("steps %q: the range is empty", s)
	}
	return from, to, nil
}

// Text writes a run's timeline as aligned text, one event a line, under a
// column header: the step, the virtual time, the track (the server, the
// kernel, the simulator, or a connection by its label), what happened,
// and its details. A violation is printed where it happens, with its facts.
// It writes as events come, so a run that hangs still shows how far it got.
type Text struct {
	w      io.Writer
	f      Filter
	labels labels
	head   bool
	err    error
}

// NewText writes to w the events f selects.
func NewText(w io.Writer, f Filter) *Text { return &Text{w: w, f: f} }

// Err is the first write error, if any.
func (t *Text) Err() error { return t.err }

const textHeader = "  step         time  %-*s  %-16s details\n"

const trackWidth = 32

// Add writes e if the filter keeps it.
func (t *Text) Add(e Event) {
	if e.Op == OpLabel {
		t.labels.set(e.Conn, e.Text)
	}
	if !t.f.keep(&e) || e.Op == OpLabel || t.err != nil {
		return
	}
	if !t.head {
		t.head = true
		t.printf(textHeader, trackWidth, "track", "event")
	}
	if e.Op == OpViolation && e.Violation != nil {
		v := e.Violation
		t.printf("%6d %12s  %-*s  %s\n", e.Step, e.Time, trackWidth, t.track(&e), "!!! "+v.Error())
		for _, f := range v.Facts {
			t.printf("%6s %12s  %-*s      %s\n", "", "", trackWidth, "", f)
		}
		return
	}
	name := e.name()
	if e.Op == OpNote {
		name = "note" // Name says who speaks; the track says about what
	}
	t.printf("%6d %12s  %-*s  %-16s %s\n", e.Step, e.Time, trackWidth, t.track(&e), name, Details(&e))
}

func (t *Text) printf(format string, args ...any) {
	if _, err := fmt.Fprintf(t.w, format, args...); err != nil && t.err == nil {
		t.err = err
	}
}

// track names the line an event belongs on.
func (t *Text) track(e *Event) string { return trackOf(e, &t.labels) }

func trackOf(e *Event, l *labels) string {
	switch {
	case e.Conn != 0:
		return l.get(e.Conn)
	case e.Op == OpNet:
		return "kernel"
	case e.Op == OpNote || e.Op == OpViolation:
		return "sim"
	}
	return "server"
}

// Details renders an event's fields as "key=value" words, the facts the
// event name does not say.
func Details(e *Event) string {
	var b strings.Builder
	sp := func() {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
	}
	kv := func(k string, v any) {
		sp()
		fmt.Fprintf(&b, "%s=%v", k, v)
	}
	if e.FD >= 0 && e.Op.isCall() {
		kv("fd", e.FD)
	}
	switch e.Op {
	case OpCall:
		switch e.Name {
		case "register", "reregister":
			kv("tok", fmt.Sprintf("%#x", uint64(e.Token)))
			kv("interest", e.Ready) // the interest bits are the readiness bits they ask for
		case "accept":
			if e.N >= 0 && e.Errno == "" {
				kv("new_fd", e.N)
			}
		case "listen":
			kv("backlog", e.N)
		}
	case OpReady:
		kv("tok", fmt.Sprintf("%#x", uint64(e.Token)))
		sp()
		b.WriteString(e.Ready.String())
	case OpPoll:
		kv("events", e.N)
	case OpRead, OpFrame:
		if e.N != 0 || e.Errno == "" {
			kv("bytes", e.N)
		}
	case OpClient:
		if e.N != 0 || strings.HasSuffix(e.Name, "read") || strings.HasSuffix(e.Name, "write") {
			kv("bytes", e.N)
		}
	case OpWrite:
		kv("bytes", e.N)
		if e.Want != 0 && e.Want != e.N {
			sp()
			fmt.Fprintf(&b, "of %d", e.Want)
		}
	case OpNet:
		switch e.Name {
		case "clock":
			sp()
			fmt.Fprintf(&b, "+%v", time.Duration(e.N))
		case "net SYN retry":
			kv("try", e.N)
		default:
			if e.N != 0 {
				kv("bytes", e.N)
			}
		}
	case OpLeft, OpClosed:
		kv("reason", e.Reason)
	case OpGauges:
		kv("conns", e.Gauges.Conns)
		kv("members", e.Gauges.Members)
		kv("ring_bytes", e.Gauges.RingBytes)
	}
	if e.Text != "" {
		sp()
		b.WriteString(e.Text)
	}
	if e.Errno != "" {
		kv("err", e.Errno)
	}
	if e.Fault != "" {
		kv("fault", e.Fault)
	}
	return b.String()
}

// labels names connections: by the label the stream gave (OpLabel), else
// "conn N".
type labels struct{ byConn[string] }

func (l *labels) set(id uint64, s string) { *l.at(id) = s }

func (l *labels) get(id uint64) string {
	if s := l.lookup(id); s != "" {
		return s
	}
	return "conn " + strconv.FormatUint(id, 10)
}
