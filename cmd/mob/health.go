package main

import (
	"net/http"
	"time"
)

// health is the answer of /healthz: 200 while the event loop serves and
// answers a request within wait; 503 once a shutdown has begun (so that a
// load balancer stops sending clients) or when the loop does not answer
// (it is stuck in a tick).
func (l *loop) health(wait time.Duration) (int, string) {
	if l.stopReq.Load() || l.done.Load() {
		return http.StatusServiceUnavailable, "shutting down"
	}
	// The same request as Stats, but this one needs to know whether the
	// loop took it up.
	next := *l.next.Load()
	l.snapReq.Store(true)
	l.wake()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-next:
		if l.done.Load() {
			return http.StatusServiceUnavailable, "shutting down"
		}
		return http.StatusOK, "ok"
	case <-t.C:
		return http.StatusServiceUnavailable, "event loop not answering within " + wait.String()
	}
}
