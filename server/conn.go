package server

import (
	"time"

	"github.com/mobsim/mobsim/kernel"
)

// state is where a connection is in its life.
type state uint8

const (
	// stateMember: reading frames and receiving every broadcast.
	stateMember state = iota + 1
	// stateLeaving: no longer a member (peer FIN, protocol error or
	// shutdown); flushing what it was owed, then closing.
	stateLeaving
	// stateClosed: released; only stale references remain.
	stateClosed
)

// noStop marks a member's output as open-ended.
const noStop = ^uint64(0)

// conn is one accepted connection.
type conn struct {
	stream kernel.Stream
	vw     kernel.VectorWriter // stream's writev, if it has one
	tok    kernel.Token
	state  state

	// Output: the ring range [cursor, min(ring end, stop)) then tail.
	cursor uint64
	stop   uint64
	tail   []byte // private bytes after the broadcast range (an error line)

	partial []byte // start of an incomplete frame; its capacity counts against InputBytesMax
	dropped int    // bytes read and dropped while leaving
	holdIdx int    // index in Server.holders while its partial-frame buffer is charged, else -1
	charged int    // bytes of InputBytesMax its buffer is charged: its capacity, or 0 while kept empty

	// Input rate (InputRateBytesPerSec): bytes it may still be read now,
	// earned since tokensAt; throttled while on Server.throttled.
	tokens    int64
	tokensAt  time.Duration
	throttled bool

	// Closing: on Server.ackWait while waiting for its peer to acknowledge
	// everything (kernel.UnackedCounter); unacked is the last count (-1
	// before the first), and unackedAt when it last fell (or the FIN went).
	ackWait    bool
	ackUnknown bool // the kernel could not tell: wait for the FIN or the deadline
	unacked    int
	unackedAt  time.Duration

	// Per-tick budgets, refilled the first time c is served in a tick, so
	// duplicate events and remembered work share one budget per tick.
	budgetTick uint64
	readLeft   int
	writesLeft int
	batchTick  uint64 // tick whose write batch holds c's first write

	memberIdx int // index in Server.members while a member
	heapIdx   int // index in Server.lag

	// Timer list links, one per kind of list: members sit in the idle
	// list ordered by their last complete frame, leaving connections in
	// the linger list ordered by when they left (timerLife); members with
	// a partial frame in the frame list, by when it began (timerFrame);
	// throttled connections in the rate list, by when they were stopped
	// (timerRate).
	timers [timerKinds]timerLink

	reason     CloseReason // why it is leaving (for the final count)
	werr       error       // a write failed with it: broken, on Server.brokenQ
	wblocked   bool        // a write returned kernel.ErrWouldBlock; wait for writable
	eof        bool        // read returned io.EOF
	readToEnd  bool        // a short read is not the end: an event hinted at a FIN or an error, a write failed, or a close follows
	wclosed    bool        // CloseWrite done
	readAgain  bool        // on Server.readQ: read budget ran out before would-block
	flushAgain bool        // on Server.flushQ: needs a flush this tick
}

// pending is the number of broadcast bytes owed to c.
func (c *conn) pending(end uint64) uint64 {
	to := min(end, c.stop)
	if c.cursor >= to {
		return 0
	}
	return to - c.cursor
}

// connHeap is an intrusive binary heap of connections in the order O
// says, each knowing its own index (O.index), so that removal and re-keying
// are O(log n).
type connHeap[O heapOrder] []*conn

// heapOrder is the order of a connHeap and where each connection keeps
// its index in it.
type heapOrder interface {
	less(a, b *conn) bool
	index(c *conn) *int
}

func (h connHeap[O]) less(i, j int) bool {
	var o O
	return o.less(h[i], h[j])
}

func (h connHeap[O]) swap(i, j int) {
	var o O
	h[i], h[j] = h[j], h[i]
	*o.index(h[i]) = i
	*o.index(h[j]) = j
}

func (h *connHeap[O]) push(c *conn) {
	var o O
	*o.index(c) = len(*h)
	*h = append(*h, c)
	h.up(len(*h) - 1)
}

func (h *connHeap[O]) remove(c *conn) {
	var o O
	i := *o.index(c)
	last := len(*h) - 1
	if i != last {
		h.swap(i, last)
	}
	(*h)[last] = nil
	*h = (*h)[:last]
	if i != last {
		h.fix(i)
	}
	*o.index(c) = -1
}

// fix restores order after h[i]'s key changed.
func (h connHeap[O]) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h connHeap[O]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h connHeap[O]) down(i int) bool {
	start := i
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			break
		}
		h.swap(i, m)
		i = m
	}
	return i > start
}

// lagOrder puts the connection furthest behind (lowest cursor) first, so
// it is found in O(1) when a frame is appended. Leaving connections stay in
// the lag heap: their cursors hold ring bytes too.
type lagOrder struct{}

func (lagOrder) less(a, b *conn) bool { return a.cursor < b.cursor }
func (lagOrder) index(c *conn) *int   { return &c.heapIdx }

type lagHeap = connHeap[lagOrder]

// holdOrder puts the largest partial-frame buffer first: the one to evict
// when the input budget is spent.
type holdOrder struct{}

func (holdOrder) less(a, b *conn) bool { return cap(a.partial) > cap(b.partial) }
func (holdOrder) index(c *conn) *int   { return &c.holdIdx }

type holdHeap = connHeap[holdOrder]

// Kinds of timer list a connection can sit in at once, each with its own
// links.
const (
	timerLife  = iota // idle (members) or linger (leaving)
	timerFrame        // a partial frame, by when it began
	timerRate         // throttled, by when it was stopped
	timerKinds
)

// timerLink puts a connection in one timer list.
type timerLink struct {
	prev, next *conn
	since      time.Duration
	linked     bool
}

// timerList is an intrusive list kept in order of since, through the links
// of one kind. Appending at the tail keeps it ordered because since is
// always the current time.
type timerList struct {
	head, tail *conn
	kind       int
}

func (l *timerList) link(c *conn) *timerLink { return &c.timers[l.kind] }

func (l *timerList) pushBack(c *conn, now time.Duration) {
	k := l.link(c)
	k.since, k.linked = now, true
	k.prev, k.next = l.tail, nil
	if l.tail != nil {
		l.link(l.tail).next = c
	} else {
		l.head = c
	}
	l.tail = c
}

func (l *timerList) unlink(c *conn) {
	k := l.link(c)
	if !k.linked {
		return
	}
	if k.prev != nil {
		l.link(k.prev).next = k.next
	} else {
		l.head = k.next
	}
	if k.next != nil {
		l.link(k.next).prev = k.prev
	} else {
		l.tail = k.prev
	}
	*k = timerLink{}
}

// touch moves c to the tail: its time is now.
func (l *timerList) touch(c *conn, now time.Duration) {
	l.unlink(c)
	l.pushBack(c, now)
}

// since is when c entered l (valid while it is linked).
func (l *timerList) since(c *conn) time.Duration { return l.link(c).since }

// connQueue is work remembered for a later round: connections to serve
// again. Serving a round may queue more, for the round after, so a round
// takes the whole queue and hands its slice back once served: two slices
// take turns, and the steady state allocates nothing.
type connQueue struct{ next, spare []*conn }

func (q *connQueue) push(c *conn) { q.next = append(q.next, c) }
func (q *connQueue) len() int     { return len(q.next) }

// take empties the queue and returns what it held.
func (q *connQueue) take() []*conn {
	round := q.next
	q.next, q.spare = q.spare[:0], nil
	return round
}

// done hands back a round taken and served.
func (q *connQueue) done(round []*conn) {
	clear(round) // hold no closed connection
	q.spare = round[:0]
}
