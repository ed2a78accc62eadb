//go:build linux

package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/mobsim/mobsim/server"
)

// framings runs a test once per framing.
func framings(t *testing.T, test func(t *testing.T, f server.Framing)) {
	for _, f := range []server.Framing{server.FramingLine, server.FramingMob} {
		t.Run(f.String(), func(t *testing.T) { test(t, f) })
	}
}

// Goal: the core promise on real sockets — every client, the sender
// included, receives the same sequence of frames, and it holds exactly the
// frames sent, each client's in its send order. Method: 8 clients send 60
// random frames each (up to 3 KiB; any byte, NUL included, for mob
// framing) concurrently, writes cut at random points; each reads until it
// has every frame; the sequences are compared frame by frame.
func TestBroadcastSameOrderToAll(t *testing.T) {
	framings(t, func(t *testing.T, f server.Framing) {
		const clients, perClient, extraMax = 8, 60, 3000
		seed := testSeed(t)
		s := startServer(t, "-framing", f.String(), "-frame-bytes-max", "4096", "-queue-bytes-max", strconv.Itoa(8<<20))
		conns := s.dialMembers(clients, 0)

		sent := make([][][]byte, clients)
		for i := range sent {
			sent[i] = makeFrames(rand.New(rand.NewPCG(seed, uint64(i))), f, i, perClient, extraMax)
		}
		got := chat(t, f, seed, conns, sent, 4096+64, clients*perClient)

		seqs := map[string][][]byte{}
		for i, g := range got {
			if g.err != nil {
				t.Errorf("client %d: read: %v", i, g.err)
			}
			seqs[fmt.Sprint("client ", i)] = g.frames
		}
		checkOrder(t, "client 0", got[0].frames, sent, true)
		checkSame(t, got[0].frames, seqs)

		for _, c := range conns {
			c.CloseWrite() // the server then closes each with reason eof
		}
		st := s.waitStats("every client to be closed", func(st server.Stats) bool { return st.Conns == 0 })
		if code := s.stop(); code != 0 {
			t.Errorf("run returned %d", code)
		}
		logStats(t, st)
		total := uint64(clients * perClient)
		if st.FramesIn != total || st.FramesOut != total*clients {
			t.Errorf("frames in/out = %d/%d, want %d/%d", st.FramesIn, st.FramesOut, total, total*clients)
		}
		if st.Closed[server.ReasonEOF] != clients || st.ClosedTotal() != clients {
			t.Errorf("closed %v, want %d with reason eof", st.Closed, clients)
		}
	})
}

// chat makes every conn send its frames (writes cut at random points) while
// reading until it has want frames. It returns what each read.
func chat(t *testing.T, f server.Framing, seed uint64, conns []*net.TCPConn, sent [][][]byte, bodyMax, want int) []received {
	t.Helper()
	got := make([]received, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(2)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(100+i)))
			if err := writeSplit(c, rng, encodeAll(f, sent[i])); err != nil {
				t.Errorf("client %d: write: %v", i, err)
			}
		}()
		go func() {
			defer wg.Done()
			got[i] = newFrameReader(c, f, bodyMax).readFrames(want, nil)
		}()
	}
	wg.Wait()
	return got
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
		s := startServer(t, "-framing", f.String(), "-frame-bytes-max", "4096")
		conns := s.dialMembers(closers+readers, 0)

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
				fr := newFrameReader(c, f, 4096+64)
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
		checkOrder(t, "reader", ref, sent, true)
		seqs := map[string][][]byte{}
		for i := closers; i < len(got); i++ {
			if got[i].err != nil {
				t.Errorf("reader %d: %v", i, got[i].err)
			}
			seqs[fmt.Sprint("reader ", i)] = got[i].frames
		}
		checkSame(t, ref, seqs)
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

		st := s.waitStats("the half-closers to be closed", func(st server.Stats) bool {
			return st.Closed[server.ReasonEOF] == closers
		})
		logStats(t, st)
		for _, c := range conns[closers:] {
			c.CloseWrite()
		}
		s.waitStats("the readers to be closed", func(st server.Stats) bool { return st.Conns == 0 })
		if code := s.stop(); code != 0 {
			t.Errorf("run returned %d", code)
		}
		if st.FramesIn != closers*perClient {
			t.Errorf("frames in = %d, want %d", st.FramesIn, closers*perClient)
		}
		if st.Members != readers {
			t.Errorf("members = %d, want the %d readers", st.Members, readers)
		}
	})
}
