package peer

import (
	"net"
	"time"

	"github.com/mobsim/mobsim/internal/live"
	"github.com/mobsim/mobsim/netpoll"
	"github.com/mobsim/mobsim/server"
)

// statsWait bounds how long Stats waits for the event loop's snapshot. The
// loop answers within one wake-up; the bound only matters if it is stuck.
const statsWait = 5 * time.Second

// mobPeer runs server.Server on netpoll in one goroutine, through the
// runner cmd/mob uses.
type mobPeer struct {
	l    *live.Loop
	done chan struct{}
	err  error
}

// startMob runs the mob core; noIOUring turns io_uring off, so its
// batched fan-out takes the writev loop (the "mob-writev" peer).
func startMob(cfg Config, noIOUring bool) (Peer, error) {
	sc := server.DefaultConfig()
	sc.Framing = cfg.Framing
	sc.FrameBytesMax = cfg.FrameBytesMax
	sc.QueueBytesMax = cfg.QueueBytesMax
	sc.ConnsMax = cfg.ConnsMax
	sc.IdleTimeout = -1
	sc.LingerTimeout = time.Second
	sc.ShutdownTimeout = time.Second
	l, err := live.Listen(live.Config{Addr: cfg.Addr, Server: sc, Poller: netpoll.Config{NoIOUring: noIOUring}})
	if err != nil {
		return nil, err
	}
	p := &mobPeer{l: l, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.err = l.Serve()
	}()
	return p, nil
}

func (p *mobPeer) Addr() net.Addr { return p.l.Addr() }

func (p *mobPeer) Stats() Stats {
	st := p.l.Stats(statsWait)
	bst := p.l.BatchStats() // of the same snapshot
	return Stats{
		Conns:         st.Conns,
		FramesIn:      st.FramesIn,
		Deliveries:    st.FramesOut,
		WriteCalls:    st.WriteCalls,
		ReadCalls:     st.ReadCalls,
		WriteSyscalls: st.WriteCalls - st.BatchedWrites + bst.Syscalls,
		Ticks:         st.Ticks,
		Closed:        st.ClosedTotal(),
		CutSlow:       st.Closed[server.ReasonQueueLimit],
	}
}

func (p *mobPeer) Close() error {
	p.l.Stop()
	<-p.done
	return p.err
}
