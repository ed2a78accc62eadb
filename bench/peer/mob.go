package peer

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mobsim/mobsim/netpoll"
	"github.com/mobsim/mobsim/server"
)

// mobPeer runs server.Server on netpoll in one goroutine. The server may only
// be touched by that goroutine, so Stats asks it: the stop callback, which Run
// calls before every tick, answers a pending request, and Wake makes a
// blocked Poll return so that it does so promptly.
type mobPeer struct {
	poller *netpoll.Poller
	addr   net.Addr
	srv    *server.Server

	stop    atomic.Bool
	want    atomic.Bool
	replies chan server.Stats
	done    chan struct{}
	err     error

	mu   sync.Mutex // one Stats request at a time
	last server.Stats
}

func startMob(cfg Config) (Peer, error) {
	poller, err := netpoll.New()
	if err != nil {
		return nil, err
	}
	ln, err := netpoll.Listen("tcp", cfg.Addr, netpoll.ListenConfig{})
	if err != nil {
		poller.Close()
		return nil, err
	}
	sc := server.DefaultConfig()
	sc.Framing = cfg.Framing
	sc.FrameBytesMax = cfg.FrameBytesMax
	sc.QueueBytesMax = cfg.QueueBytesMax
	sc.ConnsMax = cfg.ConnsMax
	sc.IdleTimeout = -1
	sc.LingerTimeout = time.Second
	sc.ShutdownTimeout = time.Second
	srv, err := server.New(poller, ln, sc)
	if err != nil {
		ln.Close()
		poller.Close()
		return nil, fmt.Errorf("mob: %w", err)
	}
	p := &mobPeer{
		poller:  poller,
		addr:    ln.Addr(),
		srv:     srv,
		replies: make(chan server.Stats, 1),
		done:    make(chan struct{}),
	}
	go p.run()
	return p, nil
}

func (p *mobPeer) run() {
	defer close(p.done)
	p.err = p.srv.Run(func() bool {
		if p.want.Swap(false) {
			p.replies <- p.srv.Stats()
		}
		return p.stop.Load()
	})
	p.last = p.srv.Stats()
}

func (p *mobPeer) Addr() net.Addr { return p.addr }

func (p *mobPeer) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.want.Store(true)
	_ = p.poller.Wake()
	var st server.Stats
	select {
	case st = <-p.replies:
	case <-p.done:
		st = p.last
	}
	return Stats{
		Conns:      st.Conns,
		FramesIn:   st.FramesIn,
		Deliveries: st.FramesOut,
		WriteCalls: st.WriteCalls,
		ReadCalls:  st.ReadCalls,
		Closed:     st.ClosedTotal(),
		CutSlow:    st.Closed[server.ReasonQueueLimit],
	}
}

func (p *mobPeer) Close() error {
	p.stop.Store(true)
	_ = p.poller.Wake()
	<-p.done
	if err := p.poller.Close(); err != nil && p.err == nil {
		p.err = err
	}
	return p.err
}
