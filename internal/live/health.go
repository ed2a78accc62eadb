package live

import "time"

// Health is what a probe learns of a Loop: whether it still takes clients
// and whether its goroutine answers.
type Health int

const (
	// Serving: no stop was requested and the loop took the probe's
	// request within the wait.
	Serving Health = iota
	// Stopping: a stop was requested (the shutdown may still be flushing)
	// or Serve has returned. A load balancer should send no new clients.
	Stopping
	// NotAnswering: no stop was requested but the loop did not take the
	// request within the wait: it is stuck in a tick, or not serving yet.
	NotAnswering
)

func (h Health) String() string {
	switch h {
	case Serving:
		return "serving"
	case Stopping:
		return "stopping"
	case NotAnswering:
		return "not answering"
	}
	return "unknown"
}

// Health probes the loop the way Stats asks it for a snapshot, waiting up
// to wait for the answer, but says whether the answer came. A stop
// requested before or during the wait makes it Stopping; once Serve has
// returned it is Stopping at once. Safe from any goroutine; it allocates
// nothing.
func (l *Loop) Health(wait time.Duration) Health {
	if l.stopping() {
		return Stopping
	}
	answered := l.ask(wait)
	switch {
	case l.stopping():
		return Stopping
	case !answered:
		return NotAnswering
	}
	return Serving
}

// stopping reports whether a stop was requested or Serve has returned.
func (l *Loop) stopping() bool {
	if l.stopReq.Load() {
		return true
	}
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}
