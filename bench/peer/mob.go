package peer

import (
	"net"
	"time"

	"github.com/mobsim/mobsim/internal/live"
	"github.com/mobsim/mobsim/netpoll"
	"github.com/mobsim/mobsim/netrec"
	"github.com/mobsim/mobsim/server"
)

// statsWait bounds how long Stats waits for the event loop's snapshot. The
// loop answers within one wake-up; the bound only matters if it is stuck.
const statsWait = 5 * time.Second

// mobPeer runs server.Server on netpoll in one goroutine, through the
// runner cmd/mob uses.
type mobPeer struct {
	l    *live.Loop
	rec  *recording // nil: not recorded
	done chan struct{}
	err  error
}

// startMob runs the mob core; noIOUring turns io_uring off, so its
// batched fan-out takes the writev loop (the "mob-writev" peer); with
// mode it is recorded (the "mob-record" peers, see mob_record.go).
func startMob(cfg Config, noIOUring bool, mode *netrec.WriteMode) (Peer, error) {
	sc := server.DefaultConfig()
	sc.Framing = cfg.Framing
	sc.FrameBytesMax = cfg.FrameBytesMax
	sc.QueueBytesMax = cfg.QueueBytesMax
	sc.ConnsMax = cfg.ConnsMax
	sc.IdleTimeout = -1
	sc.LingerTimeout = time.Second
	sc.ShutdownTimeout = time.Second
	lc := live.Config{Addr: cfg.Addr, Server: sc, Poller: netpoll.Config{NoIOUring: noIOUring}}
	var rec *recording
	if mode != nil {
		var err error
		if rec, err = newRecording(*mode); err != nil {
			return nil, err
		}
		lc.Record = rec.conf
	}
	l, err := live.Listen(lc)
	if err == nil && rec != nil {
		err = rec.opened()
	}
	if err != nil {
		if rec != nil {
			rec.remove()
		}
		return nil, err
	}
	p := &mobPeer{l: l, rec: rec, done: make(chan struct{})}
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
	var logBytes uint64
	if p.rec != nil {
		logBytes = p.rec.bytes()
	}
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
		LogBytes:      logBytes,
	}
}

func (p *mobPeer) Close() error {
	p.l.Stop()
	<-p.done
	if p.rec != nil {
		if err := p.rec.remove(); err != nil && p.err == nil {
			return err
		}
	}
	return p.err
}
