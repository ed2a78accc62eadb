package main

import (
	"net/http"
	"time"

	"github.com/mobsim/mobsim/internal/live"
)

// health is the answer of /healthz: 200 while the event loop serves and
// answers a request within wait; 503 once a shutdown has begun (so that a
// load balancer stops sending clients) or when the loop does not answer
// (it is stuck in a tick).
func health(l *live.Loop, wait time.Duration) (int, string) {
	switch l.Health(wait) {
	case live.Serving:
		return http.StatusOK, "ok"
	case live.Stopping:
		return http.StatusServiceUnavailable, "shutting down"
	default:
		return http.StatusServiceUnavailable, "event loop not answering within " + wait.String()
	}
}
