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

	partial []byte // start of an incomplete frame
	dropped int    // bytes read and dropped while leaving

	// Per-tick budgets, refilled the first time c is served in a tick, so
	// duplicate events and remembered work share one budget per tick.
	budgetTick uint64
	readLeft   int
	writesLeft int
	batchTick  uint64 // tick whose write batch holds c's first write

	memberIdx int // index in Server.members while a member
	heapIdx   int // index in Server.lag

	// Timer list links: members sit in the idle list ordered by last read,
	// leaving connections in the linger list ordered by when they left.
	prev, next *conn
	since      time.Duration

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

// lagHeap orders connections by cursor so the one furthest behind is found in
// O(1) when a frame is appended. Leaving connections stay in it: their
// cursors hold ring bytes too.
type lagHeap []*conn

func (h lagHeap) less(i, j int) bool { return h[i].cursor < h[j].cursor }

func (h lagHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}

func (h *lagHeap) push(c *conn) {
	c.heapIdx = len(*h)
	*h = append(*h, c)
	h.up(c.heapIdx)
}

func (h *lagHeap) remove(c *conn) {
	i := c.heapIdx
	last := len(*h) - 1
	if i != last {
		h.swap(i, last)
	}
	(*h)[last] = nil
	*h = (*h)[:last]
	if i != last {
		h.fix(i)
	}
	c.heapIdx = -1
}

// fix restores order after h[i]'s cursor changed.
func (h lagHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h lagHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h lagHeap) down(i int) bool {
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

// timerList is an intrusive list kept in order of conn.since. Appending at the
// tail keeps it ordered because since is always the current time.
type timerList struct{ head, tail *conn }

func (l *timerList) pushBack(c *conn, now time.Duration) {
	c.since = now
	c.prev, c.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = c
	} else {
		l.head = c
	}
	l.tail = c
}

func (l *timerList) unlink(c *conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else if l.head == c {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else if l.tail == c {
		l.tail = c.prev
	}
	c.prev, c.next = nil, nil
}

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
