package oracle

import (
	"bytes"
	"sort"
	"time"

	"github.com/mobsim/mobsim/server"
)

// conn is what the history says about one connection, from its three
// sources: the kernel's record, the server's claims, its client's account.
type conn struct {
	id   ConnID
	name string // how its client is named in liveness reports, if a client opened it
	bad  bool   // a violation was reported about it: not checked further (Report mode)

	// The kernel's record.
	accepted  bool
	input     decoder // the server's reads, cut into frames
	readBytes uint64  // bytes the server read
	readLeft  uint64  // of those, bytes read after it left
	eofAt     int64   // end of the order when the server read EOF, or -1
	// The last complete frame read from a member (or its accept), by the
	// kernel's clock and by the server's (see timing.go): idle time is
	// counted in complete frames.
	lastFrame, lastFrameTick time.Duration
	// When the frame its input ends inside began, by both clocks, and the
	// bytes of it read so far: what the server must keep (InputBytesMax).
	partialAt, partialAtTick time.Duration
	partial                  int
	// The input rate's bucket (InputRateBytesPerSec), in byte-nanoseconds
	// so that it earns exactly: what the server may still read from it.
	bucket   int64
	bucketAt time.Duration
	overRate bool // read past its rate while leaving: judged at the tick's end (see spend)

	reset    bool   // the kernel reported the connection reset
	lost     uint64 // output lost after a close that promised the flush (Config.Losses)
	lostAll  uint64 // output the kernel lost, whatever the close (Config.Losses)
	shut     bool   // the server sent FIN (CloseWrite)
	written  uint64 // bytes of its window written so far
	errW     []byte // bytes written after its window: an error frame (or a reject line)
	writeCut bool   // a write call got less taken than it asked (a full buffer)
	// Input that reached the server's socket (Arrived): in all, as of the
	// start of tick arrTick (the last tick with an arrival), and at the
	// server's last read call.
	arrived, arrivedBefore, arrivedAtRead uint64
	arrTick                               uint64
	readCallAt                            uint64 // Oracle.calls at its last read call

	// The server's claims.
	joined, rejected, left, closed bool
	leaveWhy, closeWhy             server.CloseReason
	join, stop                     uint64 // offsets in the order; stop valid once left or closed
	frames                         int    // frames claimed from it
	leftAt, leftTick               time.Duration
	closeTick                      uint64 // the tick it was closed in, for a leaver's last drain (fairness)
	liveIdx                        int    // index in Oracle.live, or -1

	// Its client's account.
	client      bool
	gone        bool // the client closed or reset its socket: nothing more comes from it
	clientReset bool
	ended       End    // how its reading ended, if it did
	sent        uint64 // bytes its socket took
	sentMatch   match  // kernel record: what it sent against what the server read; else its frames against the claims
	sentDec     decoder
	recv        uint64 // bytes it received
	tailRecv    []byte // received bytes past its window (no kernel record): its error frame
	held        []byte // received bytes past what the order holds yet (no kernel record)
	holding     bool   // in Oracle.holding
	forgotten   bool
}

// member: joined, and neither left nor closed.
func (c *conn) member() bool { return c.joined && !c.left && !c.closed }

// windowEnd is where c's window of the order ends for now: its leave point
// (or close point, if it was torn down without leaving), or the end of the
// order while it is a member.
func (c *conn) windowEnd(o *Oracle) uint64 {
	if c.left || c.closed {
		return c.stop
	}
	return o.order.end()
}

// owed is what c is still owed of its window, as the kernel record shows.
func (c *conn) owed(o *Oracle) uint64 { return c.windowEnd(o) - c.join - c.written }

// behind is how far c is behind the end of the order: what it pins.
func (c *conn) behind(o *Oracle) uint64 { return o.order.end() - c.join - c.written }

// needs returns the lowest offset of the order a check of c may still
// read, and false if none can.
func (c *conn) needs(o *Oracle) (uint64, bool) {
	switch {
	case !c.joined || c.forgotten:
		return 0, false
	case o.kernel && c.closed && (!c.client || c.gone):
		return 0, false // no more writes, nor receipts
	case o.kernel && c.client:
		return c.join + min(c.written, c.recv), true // writes, and receipts of what was written
	case o.kernel:
		return c.join + c.written, true
	case c.closed && c.gone:
		return 0, false
	}
	// Receipts, even before its client is known: a live world may name
	// the client late.
	return c.join + min(c.recv, c.windowEnd(o)-c.join), true
}

// order is the global order: every frame the server claimed, in claim
// order, as one byte stream. Offsets are absolute; bytes before base were
// released because no check can read them again.
type order struct {
	base   uint64
	buf    []byte
	ends   []uint64 // where each kept frame ends, ascending (kept only to count frames received)
	counts bool     // keep ends
	frames int
}

func (s *order) end() uint64 { return s.base + uint64(len(s.buf)) }

// at returns the bytes [from, to) of the order.
func (s *order) at(from, to uint64) []byte { return s.buf[from-s.base : to-s.base] }

func (s *order) add(head, tail []byte) []byte {
	from := len(s.buf)
	s.buf = append(append(s.buf, head...), tail...)
	if s.counts {
		s.ends = append(s.ends, s.end())
	}
	s.frames++
	return s.buf[from:]
}

// framesEnding counts the frames that end in (from, to].
func (s *order) framesEnding(from, to uint64) int {
	i := sort.Search(len(s.ends), func(i int) bool { return s.ends[i] > from })
	j := sort.Search(len(s.ends), func(i int) bool { return s.ends[i] > to })
	return j - i
}

// release forgets the bytes before to.
func (s *order) release(to uint64) {
	if to <= s.base {
		return
	}
	s.buf = append(s.buf[:0], s.buf[to-s.base:]...)
	s.base = to
	i := sort.Search(len(s.ends), func(i int) bool { return s.ends[i] >= to })
	s.ends = append(s.ends[:0], s.ends[i:]...)
}

// orderKeepBytes is how much of the order may pile up before the oracle
// looks for a prefix it can release: large enough that a simulated world
// never pays for it.
const orderKeepBytes = 4 << 20

// trim releases the prefix of the order that no connection can need.
func (o *Oracle) trim() {
	if len(o.order.buf) < orderKeepBytes {
		return
	}
	low := o.order.end()
	for _, c := range o.list {
		if from, ok := c.needs(o); ok {
			low = min(low, from)
		}
	}
	if low-o.order.base >= uint64(len(o.order.buf))/2 {
		o.order.release(low)
	}
}

// match compares two streams that must agree as they grow: want, what one
// side says was sent, and got, what the other side says arrived. Only the
// unmatched rest of whichever side is ahead is kept; the other side's new
// bytes are compared against it where they lie, without a copy.
type match struct {
	want, got []byte // the unmatched rests: want[from:] and got; one is empty
	from      int
	at        uint64 // bytes matched so far
}

// feed adds to either side and compares what both now hold. It returns the
// offset of the first difference, or -1.
func (m *match) feed(want, got []byte) int64 {
	if len(want) > 0 {
		if len(m.got) > 0 {
			n, i := common(want, m.got)
			if i >= 0 {
				return int64(m.at) + int64(i)
			}
			m.at += uint64(n)
			m.got = shift(m.got, n)
			want = want[n:]
		}
		m.want = append(m.want, want...)
	}
	if len(got) > 0 {
		if rest := m.want[m.from:]; len(rest) > 0 {
			n, i := common(got, rest)
			if i >= 0 {
				return int64(m.at) + int64(i)
			}
			m.at += uint64(n)
			m.from += n
			got = got[n:]
		}
		m.got = append(m.got, got...)
		if m.from == len(m.want) {
			m.want, m.from = m.want[:0], 0
		} else if m.from > 4096 && m.from > len(m.want)/2 {
			m.want = append(m.want[:0], m.want[m.from:]...)
			m.from = 0
		}
	}
	return -1
}

// unmatched returns how far each side is ahead of the other.
func (m *match) unmatched() (want, got int) { return len(m.want) - m.from, len(m.got) }

// common compares the heads of a and b: n is the shorter length, diff the
// first index where they differ, or -1.
func common(a, b []byte) (n, diff int) {
	n = min(len(a), len(b))
	if bytes.Equal(a[:n], b[:n]) {
		return n, -1
	}
	return n, firstDiff(a[:n], b[:n])
}

// shift drops the first n bytes of b, reusing its array.
func shift(b []byte, n int) []byte {
	switch n {
	case 0:
		return b
	case len(b):
		return b[:0]
	}
	return append(b[:0], b[n:]...)
}
