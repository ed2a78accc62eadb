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
	ReasonLingerBytes                 // sent more than LingerBytesMax while leaving; closed at once (a reset)
	ReasonRegisterError               // the kernel refused to register it
	reasonCount
)

var reasonNames = [reasonCount]string{
	"none", "eof", "reset", "write-error", "frame-too-large", "bad-header",
	"queue-limit", "conns-limit", "idle", "linger-timeout", "shutdown", "shutdown-timeout", "linger-bytes", "register-error",
}

func (r CloseReason) String() string {
	if r < reasonCount {
		return reasonNames[r]
	}
	return "unknown"
}

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
	WriteCalls    uint64
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
}

// ClosedTotal sums Closed over every reason.
func (s *Stats) ClosedTotal() uint64 {
	var n uint64
	for _, v := range s.Closed {
		n += v
	}
	return n
}
