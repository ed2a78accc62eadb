package properties

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

// The server never panics on missing or stale tokens and never drops a
// broadcast, whatever order a kernel hands it events in. Method: rapid draws
// a world whose kernel may inject faults, then a sequence of rounds; in each
// round clients act (connect, send frames split at random points, read, FIN,
// reset, close), the network moves bytes, and the server handles one batch
// that the chaosPoller has salted with events for closed, reused and
// never-issued tokens, duplicates, split events and false hints, then
// shuffled. After every batch the world's model is checked (no panic,
// Server.Check, connection count against the kernel's open fds, every frame
// read is one a client completed, every prefix right); after a drain every
// connection nothing reset must have received exactly what it was owed.
func TestBatchShuffle(t *testing.T) {
	var ty tally
	rapid.Check(t, func(t *rapid.T) {
		wc := worldGen(true).Draw(t, "world")
		w := newWorld(t, wc)
		rounds := rapid.IntRange(1, 60).Draw(t, "rounds")
		for i := range rounds {
			ops := rapid.SliceOfN(opGen(), 0, 6).Draw(t, fmt.Sprintf("round %d", i+1))
			for _, op := range ops {
				w.do(op)
			}
			if rapid.Bool().Draw(t, "flush") {
				w.k.Flush()
			} else {
				w.k.Step()
			}
			w.tick()
		}
		w.drain()
		w.final()
		ty.add(w)
	})
	t.Log(&ty)
}

// op is one client action, drawn as data so a round's actions print on one
// line.
type op struct {
	Kind   opKind
	Client int // index among the clients, modulo their number
	N      int // body bytes (send) or bytes to read (read)
	Split  int // bytes of the outbox to write now; -1 writes all it takes
}

type opKind uint8

const (
	opConnect opKind = iota
	opSend
	opWrite
	opRead
	opFIN
	opReset
	opClose
	opBad
	opKinds
)

var opNames = [opKinds]string{"connect", "send", "write", "read", "fin", "reset", "close", "bad"}

func (o op) GoString() string {
	switch o.Kind {
	case opConnect:
		return "connect"
	case opSend:
		return fmt.Sprintf("#%d send %dB split %d", o.Client, o.N, o.Split)
	case opWrite:
		return fmt.Sprintf("#%d write %d", o.Client, o.Split)
	case opRead:
		return fmt.Sprintf("#%d read %d", o.Client, o.N)
	}
	return fmt.Sprintf("#%d %s", o.Client, opNames[o.Kind])
}

// opGen draws client actions, sends and reads most often. rapid draws the
// ends of a range more often than its middle, so the list starts and ends
// with sends, and a malformed frame sits in the middle and is rarer still.
func opGen() *rapid.Generator[op] {
	weights := []opKind{opSend, opRead, opConnect, opSend, opWrite, opRead, opFIN, opBad, opReset, opClose, opSend, opConnect, opRead, opSend}
	return rapid.Custom(func(t *rapid.T) op {
		o := op{Kind: rapid.SampledFrom(weights).Draw(t, "kind"), Client: rapid.IntRange(0, 4).Draw(t, "client")}
		if o.Kind == opBad && !oneIn(t, 3, "really") {
			o.Kind = opSend
		}
		o.N = rapid.IntRange(0, 64).Draw(t, "n")
		o.Split = -1
		if rapid.Bool().Draw(t, "split") {
			o.Split = rapid.IntRange(0, 80).Draw(t, "at")
		}
		return o
	})
}

// do applies one drawn client action; one that does not apply (no such
// client, a client that cannot write) does nothing.
func (w *world) do(o op) {
	if o.Kind == opConnect {
		if w.active() < w.wc.Clients && len(w.clients) < 3*w.wc.Clients {
			w.connect()
		}
		return
	}
	if len(w.clients) == 0 {
		return
	}
	c := w.clients[o.Client%len(w.clients)]
	limit := o.Split
	if limit < 0 {
		limit = 1 << 30
	}
	switch o.Kind {
	case opSend, opBad:
		if !c.canWrite() {
			return
		}
		var what string
		if o.Kind == opSend {
			body := w.body(c, o.N%(w.cfg.FrameBytesMax+1))
			frame := w.cfg.Framing.Encode(nil, body)
			w.queue(c, frame)
			what = fmt.Sprintf("%q", frame)
		} else {
			var frame []byte
			frame, what = w.badFrame(o.N%2, o.N%4)
			w.queue(c, frame)
		}
		n := w.pump(c, limit)
		w.t.Logf("%s sends %s; writes %d bytes, %d left to write", c.name, what, n, c.unsent())
	case opWrite:
		if c.canWrite() && c.unsent() > 0 {
			n := w.pump(c, limit)
			w.t.Logf("%s writes %d more bytes, %d left to write", c.name, n, c.unsent())
		}
	case opRead:
		if c.canRead() {
			n := w.read(c, max(o.N, 1))
			w.t.Logf("%s reads %d bytes (%d in all)", c.name, n, len(c.recv))
		}
	case opFIN:
		if !c.shut && !c.closed {
			w.fin(c)
		}
	case opReset:
		if !c.closed {
			w.reset(c)
		}
	case opClose:
		if !c.closed {
			w.close(c)
		}
	}
}
