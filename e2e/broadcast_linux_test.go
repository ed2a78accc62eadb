package e2e

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"

	"github.com/mobsim/mobsim/server"
)

// Goal: the core promise on real sockets — every client, the sender
// included, receives the same sequence of frames, and it holds exactly the
// frames sent, each client's in its send order. Method: 8 clients of the
// child server send 60 random frames each (up to 3 KiB; any byte, NUL
// included, for mob framing) concurrently, writes cut at random points;
// each reads until it has every frame; the sequences are compared frame
// by frame. Then each sends its FIN and must be closed for reason eof, and
// the counters must show every frame read once and delivered to all 8.
func TestBroadcastSameOrderToAll(t *testing.T) {
	framings(t, func(t *testing.T, f server.Framing) {
		const clients, perClient, extraMax = 8, 60, 3000
		seed := testSeed(t)
		p := startMob(t, false, "-framing", f.String(), "-frame-bytes-max", "4096", "-queue-bytes-max", strconv.Itoa(8<<20))
		conns := dialMembers(t, p, clients, clients)
		startChat(t, f, seed, conns, perClient, extraMax, 0, nil).wait()

		for _, c := range conns {
			c.CloseWrite() // the server then closes each with reason eof
		}
		v := p.waitVars("every client to be closed", func(v mobVars) bool { return v.Conns == 0 })
		t.Logf("counters: %+v", v)
		total := uint64(clients * perClient)
		if v.FramesIn != total || v.FramesOut != total*clients {
			t.Errorf("frames in/out = %d/%d, want %d/%d", v.FramesIn, v.FramesOut, total, total*clients)
		}
		if v.Closed["eof"] != clients || v.ClosedTotal != clients {
			t.Errorf("closed %v, want %d with reason eof", v.Closed, clients)
		}
		if _, err := p.sigterm(); err != nil {
			t.Errorf("exit after SIGTERM: %v, want status 0", err)
		}
	})
}

// Goal: a client's FIN right after its last frame loses nothing: its frames
// reach everyone, and the half-closed sender itself still receives them.
// Method: 3 clients each write their frames and CloseWrite at once, then
// read to the end; 2 more clients only read. The readers must get every
// frame; each half-closer must get a prefix of the readers' sequence (it
// stops being a member at its FIN) holding all its own frames, then a
// clean end of stream.
func TestHalfCloseAfterLastFrame(t *testing.T) {
	framings(t, func(t *testing.T, f server.Framing) {
		const closers, readers, perClient, extraMax = 3, 2, 40, 2000
		seed := testSeed(t)
		p := startMob(t, false, "-framing", f.String(), "-frame-bytes-max", "4096")
		conns := dialMembers(t, p, closers+readers, closers+readers)

		sent := make([][][]byte, closers)
		for i := range sent {
			sent[i] = makeFrames(rand.New(rand.NewPCG(seed, uint64(i))), f, i, perClient, extraMax)
		}
		got := make([]received, len(conns))
		var wg sync.WaitGroup
		for i, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fr := newFrameReader(c, f, 4096)
				if i >= closers {
					got[i] = fr.readFrames(closers*perClient, nil)
					return
				}
				rng := rand.New(rand.NewPCG(seed, uint64(100+i)))
				if err := writeSplit(c, rng, encodeAll(f, sent[i])); err != nil {
					t.Errorf("client %d: write: %v", i, err)
				}
				if err := c.CloseWrite(); err != nil {
					t.Errorf("client %d: close write: %v", i, err)
				}
				got[i] = fr.readFrames(-1, nil)
			}()
		}
		wg.Wait()

		ref := got[closers].frames
		var seqs [][][]byte
		for i := closers; i < len(got); i++ {
			if got[i].err != nil {
				t.Errorf("reader %d: %v", i, got[i].err)
			}
			checkOrder(t, fmt.Sprint("reader ", i), got[i].frames, sent, true)
			seqs = append(seqs, got[i].frames)
		}
		checkSame(t, "reader", seqs)
		for i := range closers {
			g := got[i]
			if g.err != io.EOF {
				t.Errorf("half-closer %d: stream ended with %v (partial %d bytes), want a clean EOF", i, g.err, len(g.partial))
			}
			name := fmt.Sprint("half-closer ", i)
			checkPrefix(t, name, g.frames, ref)
			if n := checkOrder(t, name, g.frames, sent, false); n[i] != perClient {
				t.Errorf("%s received %d of its own %d frames", name, n[i], perClient)
			}
			t.Logf("%s received %d of %d frames", name, len(g.frames), len(ref))
		}

		v := p.waitVars("the half-closers to be closed", func(v mobVars) bool { return v.Closed["eof"] == closers })
		t.Logf("counters: %+v", v)
		if v.FramesIn != closers*perClient {
			t.Errorf("frames in = %d, want %d", v.FramesIn, closers*perClient)
		}
		if v.Members != readers {
			t.Errorf("members = %d, want the %d readers", v.Members, readers)
		}
		for _, c := range conns[closers:] {
			c.CloseWrite()
		}
		p.waitVars("the readers to be closed", func(v mobVars) bool { return v.Conns == 0 })
		if _, err := p.sigterm(); err != nil {
			t.Errorf("exit after SIGTERM: %v, want status 0", err)
		}
	})
}
