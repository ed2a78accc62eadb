package netfake_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
)

// This file is a tiny echo server over the seam and a random client
// workload, used by the determinism and integrity tests. It is deliberately
// small: it follows the edge-triggered discipline (drain to ErrWouldBlock,
// read once after accept, retry accept after EMFILE) and nothing more.

const listenerToken = kernel.Token(1 << 40)

type echoConn struct {
	s    *netfake.Socket
	gen  uint32
	out  []byte
	live bool
}

type echoServer struct {
	k        *netfake.Kernel
	l        *netfake.Listener
	conns    []echoConn
	retryAcc bool
	buf      []byte
	events   []kernel.Event
}

func tokenOf(slot int, gen uint32) kernel.Token { return kernel.Token(uint64(gen)<<20 | uint64(slot)) }

func (e *echoServer) tick(timeout time.Duration) error {
	n, err := e.k.Poll(e.events, timeout)
	if err == kernel.ErrInterrupted {
		return nil
	}
	if err != nil {
		return err
	}
	if e.retryAcc {
		e.acceptAll()
	}
	for _, ev := range e.events[:n] {
		if ev.Token == listenerToken {
			e.acceptAll()
			continue
		}
		slot, gen := int(ev.Token&(1<<20-1)), uint32(ev.Token>>20)
		if slot >= len(e.conns) || !e.conns[slot].live || e.conns[slot].gen != gen {
			continue // stale or unknown token
		}
		e.serve(slot)
	}
	return nil
}

func (e *echoServer) acceptAll() {
	e.retryAcc = false
	for {
		st, err := e.l.Accept()
		if err == kernel.ErrWouldBlock {
			return
		}
		if err != nil {
			e.retryAcc = true // EMFILE or ECONNABORTED: try again next tick
			return
		}
		slot := len(e.conns)
		for i := range e.conns {
			if !e.conns[i].live {
				slot = i
				break
			}
		}
		if slot == len(e.conns) {
			e.conns = append(e.conns, echoConn{})
		}
		c := &e.conns[slot]
		c.gen++
		c.s, c.out, c.live = st.(*netfake.Socket), c.out[:0], true
		if err := e.k.Register(c.s, tokenOf(slot, c.gen), kernel.InterestRead|kernel.InterestWrite); err != nil {
			panic(err)
		}
		e.serve(slot) // data may have arrived before accept: no edge promised
	}
}

func (e *echoServer) serve(slot int) {
	c := &e.conns[slot]
	eof := false
	for {
		n, err := c.s.Read(e.buf)
		c.out = append(c.out, e.buf[:n]...)
		if err == kernel.ErrWouldBlock {
			break
		}
		if err == io.EOF {
			eof = true
			break
		}
		if err != nil {
			e.drop(slot)
			return
		}
	}
	for len(c.out) > 0 {
		var n int
		var err error
		if len(c.out) > 3 {
			n, err = c.s.Writev([][]byte{c.out[:3], c.out[3:]})
		} else {
			n, err = c.s.Write(c.out)
		}
		c.out = c.out[:copy(c.out, c.out[n:])]
		if err == kernel.ErrWouldBlock {
			break
		}
		if err != nil {
			e.drop(slot)
			return
		}
	}
	if eof && len(c.out) == 0 {
		e.drop(slot)
	}
}

// pending reports whether any connection has echo bytes queued.
func (e *echoServer) pending() bool {
	for i := range e.conns {
		if e.conns[i].live && len(e.conns[i].out) > 0 {
			return true
		}
	}
	return false
}

func (e *echoServer) drop(slot int) {
	c := &e.conns[slot]
	_ = c.s.Close()
	c.live = false
}

type echoClient struct {
	c          *netfake.Client
	sent, recv []byte
	shut, done bool
}

// workload runs one seeded echo workload: a fault phase with random calls,
// then a drain with faults off. It returns the trace hash and the first
// broken invariant: a client must receive a prefix of what it sent, and
// after the drain a client that is still connected must have it all.
func workload(seed uint64, trace func(netfake.Record)) (uint64, error) {
	h, _, err := workloadStats(seed, trace)
	return h, err
}

// workloadStats is workload that also says how many clients got their
// whole echo back after the drain (the liveness check covered them).
func workloadStats(seed uint64, trace func(netfake.Record)) (uint64, int, error) {
	r := rand.New(rand.NewPCG(seed, 1))
	cfg := netfake.Config{
		Edge:                netfake.EdgeMode(r.IntN(2)),
		Batch:               netfake.BatchShape(r.IntN(2)),
		FDMax:               2 + r.IntN(4),
		RecvBufBytes:        1 + r.IntN(64),
		SendBufBytes:        1 + r.IntN(64),
		ClientRecvBufBytes:  1 + r.IntN(64),
		ClientSendBufBytes:  1 + r.IntN(64),
		StrictNoInitialRead: r.IntN(2) == 0,
	}
	p := func() float64 {
		if r.IntN(2) == 0 {
			return 0
		}
		return r.Float64() * 0.2
	}
	faults := netfake.FaultPlan{
		ShortRead: p(), ShortWrite: p(), SpuriousReady: p(), SpuriousToken: p(),
		Reset: p() / 4, Pipe: p() / 4, Interrupt: p(), Abort: p(), MFile: p(),
	}
	k := netfake.New(rand.New(rand.NewPCG(seed, 2)), cfg)
	k.SetTracer(trace)
	k.SetFaults(faults)
	l, err := k.Listen(1 + r.IntN(4))
	if err != nil {
		return 0, 0, err
	}
	srv := &echoServer{k: k, l: l, buf: make([]byte, 1+r.IntN(16)), events: make([]kernel.Event, 1+r.IntN(8))}
	if err := k.Register(l, listenerToken, kernel.InterestRead); err != nil {
		return 0, 0, err
	}
	var clients []*echoClient
	buf := make([]byte, 32)
	for step := 0; step < 300; step++ {
		switch op := r.IntN(10); {
		case op == 0 && len(clients) < 8:
			if c, err := k.Connect(l); err == nil {
				clients = append(clients, &echoClient{c: c})
			}
		case op <= 3 && len(clients) > 0:
			cl := clients[r.IntN(len(clients))]
			if cl.done || cl.shut {
				continue
			}
			msg := make([]byte, 1+r.IntN(20))
			for i := range msg {
				msg[i] = byte('a' + (len(cl.sent)+i)%26)
			}
			n, _ := cl.c.Write(msg)
			cl.sent = append(cl.sent, msg[:n]...)
		case op <= 5 && len(clients) > 0:
			cl := clients[r.IntN(len(clients))]
			if !cl.done {
				n, _ := cl.c.Read(buf[:1+r.IntN(len(buf))])
				cl.recv = append(cl.recv, buf[:n]...)
			}
		case op == 6 && len(clients) > 0:
			cl := clients[r.IntN(len(clients))]
			switch r.IntN(6) {
			case 0:
				_ = cl.c.Reset()
				cl.done = true
			case 1:
				_ = cl.c.Close()
				cl.done = true
			default:
				_ = cl.c.ShutdownWrite()
				cl.shut = true
			}
		case op == 7:
			k.Advance(time.Duration(r.IntN(1000)) * time.Microsecond)
		default:
			k.Step()
			if err := srv.tick(time.Duration(r.IntN(3)) * time.Millisecond); err != nil {
				return 0, 0, err
			}
		}
		for _, cl := range clients {
			if !bytes.HasPrefix(cl.sent, cl.recv) {
				return 0, 0, fmt.Errorf("seed %d: client %d received %q, not a prefix of %q", seed, cl.c.ID(), cl.recv, cl.sent)
			}
			if err := conserved(k, cl); err != nil {
				return 0, 0, fmt.Errorf("seed %d step %d: %w", seed, step, err)
			}
		}
	}
	k.SetFaults(netfake.FaultPlan{})
	for round, quiet := 0, 0; round < 10000 && quiet < 2; round++ {
		if k.Unsent() == 0 && !srv.pending() {
			quiet++
		} else {
			quiet = 0
		}
		k.Flush()
		if err := srv.tick(0); err != nil {
			return 0, 0, err
		}
		for _, cl := range clients {
			if cl.done {
				continue
			}
			for {
				n, err := cl.c.Read(buf)
				cl.recv = append(cl.recv, buf[:n]...)
				if err != nil {
					break
				}
			}
		}
	}
	complete := 0
	for _, cl := range clients {
		if err := conserved(k, cl); err != nil {
			return 0, 0, fmt.Errorf("seed %d after the drain: %w", seed, err)
		}
		if !bytes.HasPrefix(cl.sent, cl.recv) {
			return 0, 0, fmt.Errorf("seed %d: client %d received %q, not a prefix of %q", seed, cl.c.ID(), cl.recv, cl.sent)
		}
		if !cl.done && len(cl.sent) > 0 && bytes.Equal(cl.sent, cl.recv) {
			complete++
		}
		if !cl.done && !cl.c.WasReset() && !bytes.Equal(cl.sent, cl.recv) && !srv.retryAcc {
			info, _ := k.Conn(cl.c.ID())
			return 0, 0, fmt.Errorf("seed %d (%s/%s): client %d got %d of %d bytes after the drain: %+v",
				seed, cfg.Edge, cfg.Batch, cl.c.ID(), len(cl.recv), len(cl.sent), info)
		}
	}
	return k.Hash(), complete, nil
}

// conserved checks the kernel's byte accounts for cl's connection: what
// each side's writes took is what arrived at the other side, what was
// lost, what waits for the window and what is on the wire; the client's
// writes took what it counted, and it read no more than arrived.
func conserved(k *netfake.Kernel, cl *echoClient) error {
	i, _ := k.Conn(cl.c.ID())
	if got := i.ClientDelivered + i.ServerDropped + i.ServerUnsent + i.ServerInFlight; got != i.ServerWrote {
		return fmt.Errorf("conn %d: the server wrote %d bytes, the accounts hold %d: %+v", i.ID, i.ServerWrote, got, i)
	}
	if got := i.ServerDelivered + i.ClientDropped + i.ClientUnsent + i.ClientInFlight; got != i.ClientWrote {
		return fmt.Errorf("conn %d: the client wrote %d bytes, the accounts hold %d: %+v", i.ID, i.ClientWrote, got, i)
	}
	if i.ClientWrote != len(cl.sent) || len(cl.recv) > i.ClientDelivered {
		return fmt.Errorf("conn %d: the client wrote %d and read %d bytes; the kernel took %d and delivered %d",
			i.ID, len(cl.sent), len(cl.recv), i.ClientWrote, i.ClientDelivered)
	}
	return nil
}
