package oracle

import (
	"fmt"
	"time"
)

// Ticks: a world that runs the server one tick at a time says where each
// begins and ends, and what its poll asked for and got. Between two ticks
// the claims must have caught up with the reads, the memory bound holds,
// and the tick kept its budgets.

// spinTicksMax bounds ticks in a row that ask Poll not to wait, get
// nothing, and do nothing: more is a busy loop (say, retrying accept on
// EMFILE without a timer).
const spinTicksMax = 1000

// tickState counts, within one tick, the write calls and bytes read per
// connection and the accept calls, for the per-tick budgets (fairness), and
// remembers the tick's poll, for busy loops.
type tickState struct {
	writes, reads []int    // by connection id
	touched       []ConnID // ids with counts to reset
	accepts       int

	zeroWait, empty bool          // the last poll asked not to wait, and got nothing
	cut             bool          // the world cut the last poll's wait short, with nothing ready
	asked           time.Duration // what the last poll asked to wait
	progressAt      uint64        // Oracle.progress when the tick began
	spin            int           // ticks in a row that spun
}

func (t *tickState) note(id ConnID, writes, reads int) {
	for uint64(len(t.writes)) <= id {
		t.writes, t.reads = append(t.writes, 0), append(t.reads, 0)
	}
	if t.writes[id] == 0 && t.reads[id] == 0 {
		t.touched = append(t.touched, id)
	}
	t.writes[id] += writes
	t.reads[id] += reads
}

// overBudget reports the first budget exceeded since the last call, and resets.
func (o *Oracle) overBudget() string {
	t, cfg := &o.tick, &o.cfg
	msg := ""
	if t.accepts > cfg.AcceptsPerTickMax {
		msg = fmt.Sprintf("%d accept calls in one tick, budget %d: the members wait while the server accepts", t.accepts, cfg.AcceptsPerTickMax)
	}
	for _, id := range t.touched {
		if msg == "" && t.writes[id] > cfg.WriteCallsPerTickMax {
			msg = fmt.Sprintf("%s: %d write calls in one tick, budget %d: one client holds up the others", o.lookup(id).labelOr(id), t.writes[id], cfg.WriteCallsPerTickMax)
		}
		if msg == "" && t.reads[id] > cfg.ReadBytesPerTickMax && !o.lastDrain(id, t.reads[id]) {
			msg = fmt.Sprintf("%s: %d bytes read in one tick, budget %d: one sender holds up the others", o.lookup(id).labelOr(id), t.reads[id], cfg.ReadBytesPerTickMax)
		}
		t.writes[id], t.reads[id] = 0, 0
	}
	t.touched, t.accepts = t.touched[:0], 0
	return msg
}

// TickBegin says a server tick begins: what happened since the last one
// (a shutdown, say) is not the tick's.
func (o *Oracle) TickBegin() {
	o.judgeLosses()
	o.inTick = true
	o.overBudget()
	o.tickNo++
	o.tick.progressAt = o.progress
	o.tick.cut = false
}

// Polled says the tick's poll, which asked to wait timeout (negative:
// forever), has returned events events. The clock now is the tick's time,
// the one the server reads (see timing.go). cut says the world ended the
// wait early with nothing ready (a simulator's poll cap): if the server
// then acts in the tick, a timer of its own fell due before the end of the
// wait it asked for, and it would have slept past it.
func (o *Oracle) Polled(timeout time.Duration, events int, cut bool) {
	o.tick.zeroWait, o.tick.empty = timeout == 0, events == 0
	o.tick.cut, o.tick.asked = cut, timeout
	if o.clock != nil {
		o.tickAt, o.timed = o.now(), true
	}
}

// lastDrain reports whether reads bytes read from id in this tick are the
// last drain of a leaver the server closed in it: that read must see the
// peer's FIN or would-block whatever is left of the tick's read budget and
// of its input rate, since a close with input unread resets the
// connection; LingerBytesMax bounds it instead (with the budget itself,
// for what the tick read before).
func (o *Oracle) lastDrain(id ConnID, reads int) bool {
	c := o.lookup(id)
	return c != nil && c.left && c.closed && c.closeTick == o.tickNo && reads <= o.cfg.ReadBytesPerTickMax+o.cfg.LingerBytesMax+1
}

// TickEnd says the tick is over, and checks what holds between ticks: its
// budgets, that it did not spin, that every frame read was claimed, and the
// memory bound.
func (o *Oracle) TickEnd() {
	o.inTick = false
	if msg := o.overBudget(); msg != "" {
		o.Fail(InvFairness, "%s", msg)
		return
	}
	t := &o.tick
	if t.cut && o.progress != t.progressAt {
		asked := "forever"
		if t.asked >= 0 {
			asked = t.asked.String()
		}
		o.Fail(InvTiming, "the server asked to sleep %s, the world woke it earlier with nothing ready, and it acted on a timer: it would have slept past a deadline of its own", asked)
		return
	}
	if t.zeroWait && t.empty && o.progress == t.progressAt {
		if t.spin++; t.spin > spinTicksMax {
			o.Fail(InvLiveness, "busy loop: %d ticks in a row polled without waiting and did nothing", t.spin)
			return
		}
	} else {
		t.spin = 0
	}
	if len(o.pend) > 0 {
		o.fact("frames_waiting", len(o.pend))
		o.Fail(InvDelivery, "the server read %d frames it never broadcast (the first from %s): the members never receive them", len(o.pend), o.lookup(o.pend[0].id).labelOr(o.pend[0].id))
	}
	o.memoryBound()
	o.lateTimers()
	o.judgeRates()
}

// memoryBound: between ticks no connection with broadcast bytes
// outstanding is more than QueueBytesMax behind the order, and the
// members' unfinished frames hold no more than InputBytesMax together (the
// server keeps at least that much for them).
func (o *Oracle) memoryBound() {
	if o.kernel && o.partials > o.cfg.InputBytesMax {
		o.Fail(InvMemory, "members hold %d bytes of unfinished frames, over InputBytesMax %d", o.partials, o.cfg.InputBytesMax)
		return
	}
	limit := uint64(o.cfg.QueueBytesMax)
	for _, c := range o.live {
		if c.owed(o) > 0 && c.behind(o) > limit {
			o.fact("behind_bytes", c.behind(o))
			o.fact("queue_bytes_max", limit)
			o.failc(c, InvMemory, "%s is %d bytes behind the stream (limit %d) and still open: the server holds more for one slow client than QueueBytesMax allows", c.label(), c.behind(o), limit)
		}
	}
}
