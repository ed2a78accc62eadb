package server

// CloseReason says why the server closed a connection.
type CloseReason uint8

// Close reasons, counted in Stats.Closed.
const (
	ReasonNone            CloseReason = iota
	ReasonEOF                         // the peer sent FIN; its frames were broadcast first
	ReasonReset                       // a read failed (ECONNRESET and the like)
	ReasonWriteError                  // a write failed (EPIPE, ECONNRESET)
	ReasonFrameTooLarge               // protocol error: frame over FrameBytesMax
	ReasonBadHeader                   // protocol error: malformed mob header
	ReasonQueueLimit                  // fell more than QueueBytesMax behind
	ReasonConnsLimit                  // accepted while ConnsMax were open
	ReasonIdle                        // sent nothing for IdleTimeout
	ReasonLingerTimeout               // did not take what it was owed within LingerTimeout
	ReasonShutdown                    // server shut down, after flushing what it owed
	ReasonShutdownTimeout             // shut down before the peer took all it was owed
	ReasonLingerBytes                 // ignored its error frame (or was owed nothing) and sent more than LingerBytesMax; a reset
	ReasonRegisterError               // the kernel refused to register it
	ReasonInputBudget                 // held the largest unfinished frame when InputBytesMax was reached
	ReasonFrameTimeout                // a frame not complete FrameTimeout after its first byte
	reasonCount
)

var reasonNames = [reasonCount]string{
	"none", "eof", "reset", "write-error", "frame-too-large", "bad-header",
	"queue-limit", "conns-limit", "idle", "linger-timeout", "shutdown", "shutdown-timeout", "linger-bytes", "register-error",
	"input-budget", "frame-timeout",
}

func (r CloseReason) String() string {
	if r < reasonCount {
		return reasonNames[r]
	}
	return "unknown"
}

// What each close reason promises the peer. This table is the one place
// that says so: the Observer's contract, the oracle (package oracle) and the
// live tools all read it through the methods below.
//
//   - leave: a member leaves for it (Observer.Left): it stops receiving new
//     frames and is then flushed what it is owed.
//   - flush: a close for it promises that everything the connection was owed
//     was written first: its window of the global order, then its error
//     frame if it broke the framing.
//   - protocol: the peer broke the framing.
//   - told: one "error: ..." frame saying why follows its window (protocol
//     errors, and the limits a member leaves for: idle, input-budget,
//     frame-timeout).
//   - resets: the close is abortive (an RST, kernel.Aborter): the peer is
//     dropped anyway, and its kernel buffers must not outlive it.
//   - afterLeave: it closes a connection that has left, before or instead of
//     the flush: the flush is no longer promised.
//   - abort: it tears a connection down at once, member or leaving, without
//     a leave and without a flush; its unbroadcast input goes with it.
//   - reject: it closes a connection that never joined (an error line, if
//     any, is best effort).
var reasonRules = [reasonCount]struct{ leave, flush, protocol, told, afterLeave, abort, resets, reject bool }{
	ReasonEOF:             {leave: true, flush: true},
	ReasonFrameTooLarge:   {leave: true, flush: true, protocol: true, told: true},
	ReasonBadHeader:       {leave: true, flush: true, protocol: true, told: true},
	ReasonIdle:            {leave: true, flush: true, told: true},
	ReasonInputBudget:     {leave: true, flush: true, told: true},
	ReasonFrameTimeout:    {leave: true, flush: true, told: true},
	ReasonShutdown:        {leave: true, flush: true},
	ReasonLingerTimeout:   {afterLeave: true},
	ReasonShutdownTimeout: {afterLeave: true},
	ReasonLingerBytes:     {afterLeave: true, resets: true},
	ReasonReset:           {abort: true},
	ReasonWriteError:      {abort: true},
	ReasonQueueLimit:      {abort: true, resets: true},
	ReasonConnsLimit:      {reject: true},
	ReasonRegisterError:   {reject: true},
}

// IsLeave reports whether a member may leave for r: it then stops receiving
// new frames and is still flushed what it is owed.
func (r CloseReason) IsLeave() bool { return r < reasonCount && reasonRules[r].leave }

// PromisesFlush reports whether a close for r promises that everything the
// connection was owed was written before it: its window of the global
// order, then its error frame if r is a protocol error.
func (r CloseReason) PromisesFlush() bool { return r < reasonCount && reasonRules[r].flush }

// IsProtocolError reports whether r says the peer broke the framing.
func (r CloseReason) IsProtocolError() bool { return r < reasonCount && reasonRules[r].protocol }

// TellsWhy reports whether a leave for r is followed by one "error: ..."
// frame after the connection's window: every protocol error, and the
// limits a member is made to leave for (idle, input-budget,
// frame-timeout).
func (r CloseReason) TellsWhy() bool { return r < reasonCount && reasonRules[r].told }

// Resets reports whether a close for r is abortive: an RST, so that the
// kernel frees the connection's buffers at once (kernel.Aborter). What
// the peer has not acknowledged is lost, which r excuses: it drops the
// peer anyway.
func (r CloseReason) Resets() bool { return r < reasonCount && reasonRules[r].resets }

// FollowsLeave reports whether a close for r comes only after the
// connection left: r is a leave reason, or ends a leaving connection early.
func (r CloseReason) FollowsLeave() bool {
	return r < reasonCount && (reasonRules[r].leave || reasonRules[r].afterLeave)
}

// Aborts reports whether r tears a connection down at once, member or
// leaving, without a flush: its input not yet broadcast is dropped with it.
func (r CloseReason) Aborts() bool { return r < reasonCount && reasonRules[r].abort }

// Rejects reports whether r closes a connection that never joined.
func (r CloseReason) Rejects() bool { return r < reasonCount && reasonRules[r].reject }

// Reasons lists every close reason in order, for reports.
func Reasons() []CloseReason {
	rs := make([]CloseReason, 0, reasonCount-1)
	for r := ReasonEOF; r < reasonCount; r++ {
		rs = append(rs, r)
	}
	return rs
}

// Stats are the server's counters. They only grow, except the gauges Conns
// and QueuedBytes.
type Stats struct {
	Accepted      uint64 // connections accepted (including those over ConnsMax)
	Closed        [reasonCount]uint64
	FramesIn      uint64 // complete frames read
	FramesOut     uint64 // frame deliveries queued (frames × members)
	BytesIn       uint64
	BytesOut      uint64 // bytes written to connections
	ReadCalls     uint64
	WriteCalls    uint64 // writes made, one by one or in batches
	WriteBatches  uint64 // kernel.BatchWriter submissions (a tick's fan-out each)
	BatchedWrites uint64 // writes that went in them (counted in WriteCalls too)
	StaleEvents   uint64 // events for unknown, freed or reused tokens
	Events        uint64 // events taken from Poll
	Ticks         uint64
	AcceptErrors  uint64
	AcceptPauses  uint64 // back-offs started after EMFILE and friends
	PollErrors    uint64 // interrupted polls
	Conns         int    // gauge: open connections
	Members       int    // gauge: connections receiving broadcasts
	QueuedBytes   uint64 // gauge: bytes retained in the broadcast log
	QueuedBytesHi uint64 // high-water mark of the largest per-connection backlog

	InputBytes     uint64 // gauge: bytes of partial-frame buffers held (at most InputBytesMax)
	InputBytesHi   uint64 // high-water mark of InputBytes
	InputEvictions uint64 // members evicted for the input budget
	Throttles      uint64 // times a connection was stopped for its input rate
	Throttled      int    // gauge: connections stopped for their input rate now (their data waits)
	AckChecks      uint64 // unacknowledged-bytes queries of leaving connections
}

// ClosedTotal sums Closed over every reason.
func (s *Stats) ClosedTotal() uint64 {
	var n uint64
	for _, v := range s.Closed {
		n += v
	}
	return n
}
