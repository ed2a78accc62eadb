package netpoll

import (
	"sync"
	"time"
)

var warmOnce sync.Once

// warmRuntimePoller makes the Go runtime create its own poller (an epoll or
// kqueue fd, plus an eventfd or pipe) now. The runtime does that lazily, the
// first time a timer is armed — which in a server built on this package may
// first happen deep into its life (the garbage collector's scavenger arms
// one once the heap has grown). If the process is at RLIMIT_NOFILE just
// then, as a server under an fd-exhaustion attack is, the runtime cannot
// create it and aborts the process ("netpollinit failed"). A sleep goes
// through the runtime's timer heap, which is what initialises its poller;
// a timer that is created and stopped without being waited on does not.
func warmRuntimePoller() {
	warmOnce.Do(func() { time.Sleep(time.Microsecond) })
}
