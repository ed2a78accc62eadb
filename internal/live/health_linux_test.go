package live

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/mobsim/mobsim/netpoll"
	"github.com/mobsim/mobsim/server"
)

// Goal: Health tells a loop that serves from one that is stuck, not yet
// serving, stopping or stopped, and answers at once from the stop on.
// Method: probe before Serve, while serving, while a BeforeTick holds the
// loop goroutine, after Stop with a client still connected (the shutdown
// waits for it), and after Serve returned.
func TestHealth(t *testing.T) {
	hold := make(chan struct{})
	held := make(chan struct{})
	var stuck atomic.Bool
	cfg := server.DefaultConfig()
	cfg.ShutdownTimeout = testTimeout
	l, err := Listen(Config{Addr: "127.0.0.1:0", Server: cfg, Poller: netpoll.Config{NoIOUring: IOUringOffByEnv()}, BeforeTick: func() error {
		if stuck.Swap(false) {
			held <- struct{}{}
			<-hold
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if h := l.Health(20 * time.Millisecond); h != NotAnswering {
		t.Errorf("before Serve: %v, want %v", h, NotAnswering)
	}

	served := make(chan error, 1)
	go func() { served <- l.Serve() }()
	if h := l.Health(testTimeout); h != Serving {
		t.Errorf("serving: %v, want %v", h, Serving)
	}

	// The loop goroutine sits in BeforeTick until hold is closed. Stats
	// wakes it for the tick whose hook blocks; its request is answered
	// before the hook runs, so only the probe after it finds the loop
	// stuck.
	stuck.Store(true)
	l.Stats(testTimeout)
	select {
	case <-held:
	case <-time.After(testTimeout):
		t.Fatalf("the loop did not reach the blocking hook within %v", testTimeout)
	}
	if h := l.Health(20 * time.Millisecond); h != NotAnswering {
		t.Errorf("stuck in a tick: %v, want %v", h, NotAnswering)
	}
	close(hold)
	if h := l.Health(testTimeout); h != Serving {
		t.Errorf("after the stuck tick: %v, want %v", h, Serving)
	}

	c := dial(t, l)
	waitStats(t, l, "1 member", func(st server.Stats) bool { return st.Members == 1 })
	l.Stop()
	start := time.Now()
	if h := l.Health(testTimeout); h != Stopping {
		t.Errorf("after Stop, a client still open: %v, want %v", h, Stopping)
	}
	c.CloseWrite()
	waitServed(t, served, "Serve, after Stop")
	if h := l.Health(testTimeout); h != Stopping {
		t.Errorf("after Serve returned: %v, want %v", h, Stopping)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Health after Stop waited %v", d)
	}
}
