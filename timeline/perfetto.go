package timeline

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"
)

// Perfetto collects a run's timeline and writes it in the Chrome
// trace-event format (the JSON Perfetto and chrome://tracing open):
//
//   - one process, "mobsim" and the title, with a track (thread) for the
//     server's loop, one for the kernel's own work, one for the
//     simulator's words, and one per connection, named by its label
//     ("conn 3 (client 2, chatty)"), in order of first appearance;
//   - each server tick a slice on the server's track (B/E), and inside it
//     the poll and each call as a short slice (X) on the track of the
//     connection it concerns, with its facts as args (fd, token, readiness
//     bits, bytes, errno, fault, step, virtual time);
//   - the server's claims (joined, left, closed, each frame) as instants
//     on the connection's track;
//   - a flow arrow from the read that completed a frame to every write
//     that delivered the frame's last byte to a member;
//   - counters: open connections, members and the broadcast log's bytes
//     after each tick, and each connection's queued bytes (how far it is
//     behind the order) when it changes;
//   - the violation as a global instant at its virtual time, and an
//     instant on its connection's track.
//
// Time is the virtual clock. Events at one virtual instant (a tick's calls
// take no time unless the world says so) are laid out 1 ns apart in the
// order they happened, so each is a slice that can be selected and the
// order is visible; the args keep the exact virtual time.
type Perfetto struct {
	// Other goes to the file's otherData as is (what the run found, say).
	Other map[string]any

	title   string
	out     []traceEvent
	labels  labels
	tracks  []track // conn tracks in order of first appearance
	seen    byConn[*connState]
	last    int64 // display time of the last event, ns
	started bool
	tick    bool // a tick slice is open
	flows   uint64
	order   frameOrder
}

// NewPerfetto collects a timeline; title names the process ("seed 7").
func NewPerfetto(title string) *Perfetto { return &Perfetto{title: title} }

// Track ids: fixed ones first, then one per connection.
const (
	tidServer = 1
	tidKernel = 2
	tidSim    = 3
	tidConn0  = 100 // conn tracks are tidConn0 + index of first appearance
	pid       = 1
)

type track struct {
	conn uint64
	tid  int
}

// connState is what the writer keeps per connection: its track, and its
// window of the order, for the flows and its queued bytes.
type connState struct {
	tid             int
	joined, stopped bool
	join, stop      uint64 // offsets in the order
	written         uint64 // bytes of its window written
	lastRead        point  // the last read on it
	hasRead         bool
	queuedSent      int64 // what its queued-bytes counter last said (-1: never)
}

// point is where a slice is: the flow events that bind to it.
type point struct {
	tid int
	ts  int64
}

// frameOrder is the global order as frame ends and where each was read.
type frameOrder struct {
	ends []uint64
	srcs []point
	ok   []bool // a read was seen for the frame
	end  uint64
}

// traceEvent is one record of the JSON array. Ts and Dur are microseconds
// with nanosecond digits, written exactly.
type traceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   json.Number    `json:"ts"`
	Dur  json.Number    `json:"dur,omitempty"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	S    string         `json:"s,omitempty"`
	ID   string         `json:"id,omitempty"`
	Bp   string         `json:"bp,omitempty"`
	Args map[string]any `json:"args,omitempty"`
}

func micros(ns int64) json.Number {
	return json.Number(fmt.Sprintf("%d.%03d", ns/1000, ns%1000))
}

// at returns the display time of an event at virtual time t.
func (p *Perfetto) at(t time.Duration) int64 {
	ns := int64(t)
	if p.started && ns <= p.last {
		ns = p.last + 1
	}
	p.started, p.last = true, ns
	return ns
}

func (p *Perfetto) conn(id uint64) *connState {
	c := p.seen.at(id)
	if *c == nil {
		*c = &connState{tid: tidConn0 + len(p.tracks), queuedSent: -1}
		p.tracks = append(p.tracks, track{conn: id, tid: (*c).tid})
	}
	return *c
}

func (p *Perfetto) tidOf(e *Event) int {
	switch {
	case e.Conn != 0:
		return p.conn(e.Conn).tid
	case e.Op == OpNet:
		return tidKernel
	case e.Op == OpNote || e.Op == OpViolation:
		return tidSim
	}
	return tidServer
}

func (p *Perfetto) emit(ev traceEvent) { p.out = append(p.out, ev) }

// Add takes the next event.
func (p *Perfetto) Add(e Event) {
	switch e.Op {
	case OpLabel:
		p.conn(e.Conn)
		p.labels.set(e.Conn, e.Text)
		return
	case OpTickBegin:
		p.closeTick()
		ts := p.at(e.Time)
		p.tick = true
		p.emit(traceEvent{Name: "tick", Cat: "server", Ph: "B", Ts: micros(ts), Pid: pid, Tid: tidServer, Args: map[string]any{"step": e.Step}})
		return
	case OpTickEnd:
		if p.tick {
			p.tick = false
			p.emit(traceEvent{Name: "tick", Cat: "server", Ph: "E", Ts: micros(p.at(e.Time)), Pid: pid, Tid: tidServer})
		}
		return
	case OpGauges:
		p.gauges(&e)
		return
	case OpViolation:
		p.violation(&e)
		return
	}
	tid := p.tidOf(&e)
	ts := p.at(e.Time)
	args := p.args(&e)
	switch e.Op {
	case OpJoined, OpLeft, OpClosed, OpFrame, OpNote:
		name := e.name()
		if e.Reason != "" {
			name += " " + e.Reason
		}
		p.emit(traceEvent{Name: name, Cat: "claim", Ph: "i", S: "t", Ts: micros(ts), Pid: pid, Tid: tid, Args: args})
		p.claim(&e, point{tid, ts})
		return
	}
	cat := "syscall"
	switch e.Op {
	case OpNet:
		cat = "net"
	case OpClient:
		cat = "client"
	}
	p.emit(traceEvent{Name: e.name(), Cat: cat, Ph: "X", Ts: micros(ts), Dur: micros(1), Pid: pid, Tid: tid, Args: args})
	switch e.Op {
	case OpRead:
		if e.N > 0 {
			c := p.conn(e.Conn)
			c.lastRead, c.hasRead = point{tid, ts}, true
		}
	case OpWrite:
		if e.N > 0 {
			p.delivered(p.conn(e.Conn), uint64(e.N), point{tid, ts})
		}
	}
}

// claim follows the server's claims: windows of the order, frames.
func (p *Perfetto) claim(e *Event, at point) {
	if e.Conn == 0 {
		return
	}
	c := p.conn(e.Conn)
	o := &p.order
	switch e.Op {
	case OpJoined:
		c.joined, c.join = true, o.end
	case OpLeft, OpClosed:
		if !c.stopped {
			c.stopped, c.stop = true, o.end
		}
	case OpFrame:
		o.end += uint64(max(e.N, 0))
		o.ends = append(o.ends, o.end)
		o.srcs = append(o.srcs, c.lastRead)
		o.ok = append(o.ok, c.hasRead)
	}
}

// delivered: n more bytes of c's stream were written by the slice at w.
// Every frame whose last byte they carry gets an arrow from its read.
func (p *Perfetto) delivered(c *connState, n uint64, w point) {
	if !c.joined {
		return // a line to a connection turned away
	}
	o := &p.order
	end := o.end
	if c.stopped {
		end = c.stop
	}
	from := c.join + c.written
	to := min(from+n, end)
	c.written += to - from
	i := sort.Search(len(o.ends), func(i int) bool { return o.ends[i] > from })
	for ; i < len(o.ends) && o.ends[i] <= to; i++ {
		if !o.ok[i] {
			continue
		}
		p.flows++
		id := strconv.FormatUint(p.flows, 10)
		args := map[string]any{"frame": i}
		src := o.srcs[i]
		p.emit(traceEvent{Name: "frame", Cat: "syscall", Ph: "s", ID: id, Ts: micros(src.ts), Pid: pid, Tid: src.tid, Args: args})
		p.emit(traceEvent{Name: "frame", Cat: "syscall", Ph: "f", Bp: "e", ID: id, Ts: micros(w.ts), Pid: pid, Tid: w.tid, Args: args})
	}
}

// gauges writes the server's counters, then each connection's queued
// bytes where they changed.
func (p *Perfetto) gauges(e *Event) {
	ts := micros(p.at(e.Time))
	g := e.Gauges
	p.emit(traceEvent{Name: "open conns", Ph: "C", Ts: ts, Pid: pid, Tid: tidServer, Args: map[string]any{"conns": g.Conns}})
	p.emit(traceEvent{Name: "members", Ph: "C", Ts: ts, Pid: pid, Tid: tidServer, Args: map[string]any{"members": g.Members}})
	p.emit(traceEvent{Name: "broadcast log bytes", Ph: "C", Ts: ts, Pid: pid, Tid: tidServer, Args: map[string]any{"bytes": g.RingBytes}})
	for _, t := range p.tracks {
		c := p.seen.lookup(t.conn)
		if !c.joined {
			continue
		}
		end := p.order.end
		if c.stopped {
			end = c.stop
		}
		q := int64(end - c.join - c.written)
		if q == c.queuedSent {
			continue
		}
		c.queuedSent = q
		p.emit(traceEvent{Name: "queued · " + p.labels.get(t.conn), Ph: "C", Ts: ts, Pid: pid, Tid: t.tid, Args: map[string]any{"bytes": q}})
	}
}

func (p *Perfetto) violation(e *Event) {
	v := e.Violation
	if v == nil {
		return
	}
	ts := micros(p.at(e.Time))
	args := map[string]any{
		"invariant": v.Invariant, "step": v.Step, "detail": v.Detail,
		"time": e.Time.String(), "time_ns": int64(e.Time),
	}
	if len(v.Facts) > 0 {
		args["facts"] = v.Facts // one object, in the facts' order
	}
	name := "VIOLATION: " + v.Invariant
	p.emit(traceEvent{Name: name, Cat: "oracle", Ph: "i", S: "g", Ts: ts, Pid: pid, Tid: tidSim, Args: args})
	if v.Conn != 0 {
		p.emit(traceEvent{Name: name, Cat: "oracle", Ph: "i", S: "t", Ts: ts, Pid: pid, Tid: p.conn(v.Conn).tid, Args: map[string]any{"detail": v.Detail}})
	}
}

func (p *Perfetto) closeTick() {
	if p.tick {
		p.tick = false
		p.emit(traceEvent{Name: "tick", Cat: "server", Ph: "E", Ts: micros(p.at(0)), Pid: pid, Tid: tidServer})
	}
}

// args are an event's facts, for its slice or instant.
func (p *Perfetto) args(e *Event) map[string]any {
	a := map[string]any{"step": e.Step, "time": e.Time.String()}
	if e.FD >= 0 && e.Op.isCall() {
		a["fd"] = e.FD
	}
	switch e.Op {
	case OpReady:
		a["token"] = fmt.Sprintf("%#x", uint64(e.Token))
		a["ready"] = e.Ready.String()
	case OpCall:
		switch e.Name {
		case "register", "reregister":
			a["token"] = fmt.Sprintf("%#x", uint64(e.Token))
			a["interest"] = e.Ready.String()
		case "accept":
			if e.Errno == "" && e.N >= 0 {
				a["new_fd"] = e.N
			}
		}
	case OpPoll:
		a["events"] = e.N
	case OpRead, OpClient, OpFrame, OpNet:
		a["bytes"] = e.N
		if e.Op == OpNet && e.Name == "clock" {
			delete(a, "bytes")
			a["advance"] = time.Duration(e.N).String()
		}
	case OpWrite:
		a["bytes"] = e.N
		if e.Want != 0 {
			a["asked"] = e.Want
		}
	case OpLeft, OpClosed:
		a["reason"] = e.Reason
	}
	if e.Text != "" {
		a["text"] = e.Text
	}
	if e.Op == OpFrame {
		a["frame"] = len(p.order.ends)
	}
	if e.Errno != "" {
		a["errno"] = e.Errno
	}
	if e.Fault != "" {
		a["fault"] = e.Fault
	}
	return a
}

// WriteTo writes the trace: the metadata naming the process and tracks,
// then every event in the order collected.
func (p *Perfetto) WriteTo(w io.Writer) (int64, error) {
	p.closeTick()
	meta := []traceEvent{
		{Name: "process_name", Ph: "M", Pid: pid, Tid: tidServer, Ts: "0", Args: map[string]any{"name": "mobsim " + p.title}},
		thread(tidServer, "server", 0), thread(tidServer, "server", -1),
		thread(tidKernel, "kernel", 1), thread(tidKernel, "kernel", -1),
		thread(tidSim, "sim", 2), thread(tidSim, "sim", -1),
	}
	for i, t := range p.tracks {
		name := p.labels.get(t.conn)
		meta = append(meta, thread(t.tid, name, 10+i), thread(t.tid, name, -1))
	}
	cw := &countWriter{w: bufio.NewWriter(w)}
	fmt.Fprint(cw, `{"displayTimeUnit":"ms","otherData":`)
	other := []byte("{}")
	var err error
	if p.Other != nil {
		other, err = json.Marshal(p.Other)
	}
	if err != nil {
		return cw.n, fmt.Errorf("trace: %w", err)
	}
	cw.Write(other)
	fmt.Fprint(cw, ",\n\"traceEvents\":[\n")
	for i, ev := range append(meta, p.out...) {
		b, err := json.Marshal(ev)
		if err != nil {
			return cw.n, fmt.Errorf("trace: %w", err)
		}
		if i > 0 {
			cw.Write([]byte(",\n"))
		}
		cw.Write(b)
	}
	fmt.Fprint(cw, "\n]}\n")
	if cw.err == nil {
		cw.err = cw.w.Flush()
	}
	return cw.n, cw.err
}

// thread is the metadata for a track: its name, or with sort >= 0 its
// place in the list.
func thread(tid int, name string, sort int) traceEvent {
	if sort < 0 {
		return traceEvent{Name: "thread_name", Ph: "M", Pid: pid, Tid: tid, Ts: "0", Args: map[string]any{"name": name}}
	}
	return traceEvent{Name: "thread_sort_index", Ph: "M", Pid: pid, Tid: tid, Ts: "0", Args: map[string]any{"sort_index": sort}}
}

type countWriter struct {
	w   *bufio.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
