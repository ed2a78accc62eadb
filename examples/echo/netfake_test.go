package echo

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
)

var (
	seedsFlag = flag.Int("echo.seeds", 300, "seeds TestEchoOnNetfake runs")
	seedFlag  = flag.Uint64("echo.seed", 0, "run only this seed (0: all of -echo.seeds)")
)

// Limits of one simulated world.
const (
	clientsMax      = 8
	sendBytesMax    = 20_000
	faultStepsMax   = 500    // kernel steps with faults on (the number is drawn per seed)
	drainStepsMax   = 50_000 // steps after that, faults off, until every client is done
	backlogMax      = 16
	bufBytesMax     = 4096 // largest socket buffer drawn
	readBufBytesMax = 2048 // largest server read drawn
)

// client is the test's side of one connection: what it sent and what came
// back.
type client struct {
	cl        *netfake.Client
	sent, got []byte
	wrote     int  // bytes of sent written so far
	fin, eof  bool // FIN sent; the server's FIN read
}

// world runs one seeded world with the echo server (the variant with
// StopReadingEarly if early) and returns the kernel's trace hash, or an
// error naming the seed and the first client that did not get back exactly
// what it sent. Every choice comes from the seed: the kernel's from one
// PRNG, the server's options and the clients' from another.
func world(seed uint64, early bool) (uint64, error) {
	drv := rand.New(rand.NewPCG(seed, 1))
	size := func() int { return 1 + drv.IntN(bufBytesMax) }
	k := netfake.New(rand.New(rand.NewPCG(seed, 0)), netfake.Config{
		Edge:                netfake.EdgeStrict, // only the edges the contract promises
		StrictNoInitialRead: true,               // not even the one at registration
		Batch:               netfake.BatchShape(drv.IntN(2)),
		RecvBufBytes:        size(), SendBufBytes: size(), ClientRecvBufBytes: size(), ClientSendBufBytes: size(),
		Faults: netfake.FaultPlan{ShortRead: 0.2, ShortWrite: 0.2, SpuriousReady: 0.05, SpuriousToken: 0.05, Interrupt: 0.02},
	})
	ln, err := k.Listen(backlogMax)
	if err != nil {
		return 0, err
	}
	srv, err := New(k, ln, Options{
		ReadBufferBytes:  1 + drv.IntN(readBufBytesMax),
		PendingBytesMax:  1 + drv.IntN(2*bufBytesMax),
		EventsMax:        1 + drv.IntN(8),
		StopReadingEarly: early,
	})
	if err != nil {
		return 0, err
	}
	clients := make([]*client, 1+drv.IntN(clientsMax))
	for i := range clients {
		data := make([]byte, 1+drv.IntN(sendBytesMax))
		for j := range data {
			data[j] = byte(drv.Uint32())
		}
		clients[i] = &client{sent: data}
	}
	buf := make([]byte, bufBytesMax)
	act := func(c *client) error {
		if c.cl == nil {
			cl, err := k.Connect(ln)
			if err != nil {
				return nil // backlog full: try again next step
			}
			c.cl = cl
		}
		if c.wrote < len(c.sent) {
			n, err := c.cl.Write(c.sent[c.wrote:min(len(c.sent), c.wrote+1+drv.IntN(bufBytesMax))])
			c.wrote += n
			if err != nil && !errors.Is(err, kernel.ErrWouldBlock) {
				return fmt.Errorf("write: %w", err)
			}
		} else if !c.fin {
			if err := c.cl.ShutdownWrite(); err != nil {
				return fmt.Errorf("FIN: %w", err)
			}
			c.fin = true
		}
		for !c.eof {
			n, err := c.cl.Read(buf)
			c.got = append(c.got, buf[:n]...)
			switch {
			case errors.Is(err, kernel.ErrWouldBlock):
				return nil
			case errors.Is(err, io.EOF):
				c.eof = true
			case err != nil:
				return fmt.Errorf("read: %w", err)
			}
		}
		return nil
	}
	tick := func() error {
		for i, c := range clients {
			if err := act(c); err != nil {
				return fmt.Errorf("seed %d: client %d: %w", seed, i, err)
			}
		}
		if err := srv.Tick(0); err != nil {
			return fmt.Errorf("seed %d: %w", seed, err)
		}
		return nil
	}
	// Faults on for a while, then off: a spurious event can rescue a
	// server that waits for an edge the contract does not promise, so only
	// the drain, without them, shows that it lives without one.
	done := func() bool {
		for _, c := range clients {
			if !c.eof {
				return false
			}
		}
		return srv.Conns() == 0
	}
	faultSteps := 1 + drv.IntN(faultStepsMax)
	for step := 0; step < faultSteps+drainStepsMax && !done(); step++ {
		if step == faultSteps {
			k.SetFaults(netfake.FaultPlan{})
		}
		if err := tick(); err != nil {
			return k.Hash(), err
		}
		k.Step()
	}
	for i, c := range clients {
		if !bytes.Equal(c.got, c.sent) || !c.eof {
			return k.Hash(), fmt.Errorf("seed %d: client %d sent %d bytes and got %d back (equal so far: %v, end of stream: %v)",
				seed, i, len(c.sent), len(c.got), bytes.HasPrefix(c.sent, c.got), c.eof)
		}
	}
	if srv.Conns() != 0 || k.OpenFDs() != 1 {
		return k.Hash(), fmt.Errorf("seed %d: %d connections and %d descriptors open after every client left, want 0 and the listener",
			seed, srv.Conns(), k.OpenFDs())
	}
	return k.Hash(), nil
}

// Goal: the echo server gives every client back exactly what it sent, and
// closes every connection after the client's FIN, on a kernel that gives
// only the edges the contract promises, with short reads and writes,
// spurious events and EINTR, socket buffers down to a byte, and either
// batch shape. Method: -echo.seeds seeded worlds of up to 8 clients.
func TestEchoOnNetfake(t *testing.T) {
	first, last := uint64(1), uint64(*seedsFlag)
	if *seedFlag != 0 {
		first, last = *seedFlag, *seedFlag
	}
	for seed := first; seed <= last; seed++ {
		if _, err := world(seed, false); err != nil {
			t.Fatalf("%v\nreplay: go test ./examples/echo -run TestEchoOnNetfake -echo.seed=%d", err, seed)
		}
	}
}

// Goal: the harness catches the classic edge-triggered bug: a server that
// stops reading before ErrWouldBlock strands data for an edge that never
// comes. Method: the same world, seed 1, with StopReadingEarly set; it must
// fail (and does at the first seed, which is the point).
func TestEchoCatchesStopReadingEarly(t *testing.T) {
	_, err := world(1, true)
	if err == nil {
		t.Fatal("the world passed a server that stops reading before ErrWouldBlock")
	}
	t.Logf("caught: %v", err)
}

// Goal: a seed replays exactly: the same seed twice gives the same trace
// hash. Method: three seeds, each run twice.
func TestEchoDeterministic(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		a, errA := world(seed, false)
		b, errB := world(seed, false)
		if a != b || (errA == nil) != (errB == nil) {
			t.Errorf("seed %d: trace hashes %#x and %#x, errors %v and %v", seed, a, b, errA, errB)
		}
	}
}
