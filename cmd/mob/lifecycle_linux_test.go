//go:build linux

package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/mobsim/mobsim/server"
)

// Goal: connections over -conns-max are told so in one line and closed,
// and the clients already connected do not notice. Method: with
// -conns-max 3, three clients join, two more connect and read to the end
// of stream; then the three chat and must all receive all frames.
func TestConnsMaxRejectsExtra(t *testing.T) {
	const connsMax, extra, perClient = 3, 2, 10
	seed := testSeed(t)
	f := server.FramingLine
	s := startServer(t, "-conns-max", fmt.Sprint(connsMax))
	conns := s.dialMembers(connsMax, 0)

	for i := range extra {
		c := dial(t, s.l.Addr().String(), 0)
		msg, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("extra client %d: read: %v (got %q)", i, err, msg)
		}
		t.Logf("extra client %d got %q", i, msg)
		if !bytes.HasPrefix(msg, []byte("error: server full")) || bytes.IndexByte(msg, '\n') != len(msg)-1 {
			t.Errorf("extra client %d got %q, want one line starting %q", i, msg, "error: server full")
		}
		if !bytes.Contains(msg, fmt.Append(nil, connsMax)) {
			t.Errorf("extra client %d got %q, which does not say the limit (%d)", i, msg, connsMax)
		}
	}

	sent := make([][][]byte, connsMax)
	for i := range sent {
		sent[i] = makeFrames(rand.New(rand.NewPCG(seed, uint64(i))), f, i, perClient, 500)
	}
	got := chat(t, f, seed, conns, sent, 1024, connsMax*perClient)
	seqs := map[string][][]byte{}
	for i, g := range got {
		if g.err != nil {
			t.Errorf("client %d: read: %v", i, g.err)
		}
		seqs[fmt.Sprint("client ", i)] = g.frames
	}
	checkOrder(t, "client 0", got[0].frames, sent, true)
	checkSame(t, got[0].frames, seqs)

	st := s.stats()
	logStats(t, st)
	if st.Accepted != connsMax+extra || st.Closed[server.ReasonConnsLimit] != extra || st.ClosedTotal() != extra {
		t.Errorf("accepted %d, closed %v; want %d accepted and %d closed with reason conns-limit",
			st.Accepted, st.Closed, connsMax+extra, extra)
	}
	if st.Members != connsMax {
		t.Errorf("members = %d, want %d", st.Members, connsMax)
	}
	for _, c := range conns {
		c.CloseWrite()
	}
	s.waitStats("every client to be closed", func(st server.Stats) bool { return st.Conns == 0 })
	if code := s.stop(); code != 0 {
		t.Errorf("run returned %d", code)
	}
}

// Goal: a graceful shutdown while clients chat delivers every frame the
// server read before it to every connected client, then ends the streams
// cleanly, and run returns 0. Method: 4 clients send frames with random
// pauses. Client 0 reads nothing until the shutdown, and the server's
// send buffers are small (-send-buf-bytes 4096), so the server holds a
// backlog for it that the shutdown must flush. Once the server has read 600
// frames the test cancels run's context (what SIGTERM does). Each client reads to the end of stream,
// then stops writing and sends its FIN. Every client must end with the
// same sequence, at a frame boundary, holding each sender's frames as a
// prefix of what it sent, and exactly as many frames as the server read.
//
// (A slow reader with a tiny SO_RCVBUF would be the obvious way to make a
// backlog, but Linux then may advertise a window below the MSS it clamped
// for the peer, and the sender only trickles data out on persist-timer
// probes, about 2 KB per 200 ms: seen here as a 10 s linger timeout.)
func TestGracefulShutdownFlushes(t *testing.T) {
	framings(t, func(t *testing.T, f server.Framing) {
		const clients, perClient, extraMax = 4, 2000, 1000
		seed := testSeed(t)
		s := startServer(t, "-framing", f.String(), "-frame-bytes-max", "2048", "-send-buf-bytes", "4096",
			"-shutdown-timeout", "10s", "-linger-timeout", "10s")
		conns := s.dialMembers(clients, 0)
		resume := make(chan struct{}) // client 0 starts reading
		resumeOnce := sync.OnceFunc(func() { close(resume) })
		defer resumeOnce()
		sent := make([][][]byte, clients)
		for i := range sent {
			sent[i] = makeFrames(rand.New(rand.NewPCG(seed, uint64(i))), f, i, perClient, extraMax)
		}

		got := make([]received, clients)
		wrote := make([]int, clients)
		var wg sync.WaitGroup
		for i, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				stop := make(chan struct{})
				writerDone := make(chan struct{})
				go func() {
					defer close(writerDone)
					rng := rand.New(rand.NewPCG(seed, uint64(100+i)))
					for _, b := range sent[i] {
						select {
						case <-stop:
							return
						default:
						}
						if err := writeSplit(c, rng, f.Encode(nil, b)); err != nil {
							t.Errorf("client %d: write: %v", i, err)
							return
						}
						wrote[i]++
						time.Sleep(time.Duration(rng.IntN(300)) * time.Microsecond)
					}
				}()
				if i == 0 {
					<-resume
				}
				got[i] = newFrameReader(c, f, 2048).readFrames(-1, nil)
				close(stop)
				<-writerDone
				if err := c.CloseWrite(); err != nil {
					t.Errorf("client %d: close write: %v", i, err)
				}
			}()
		}
		before := s.waitStats("600 frames read", func(st server.Stats) bool { return st.FramesIn >= 600 })
		resumeOnce()
		code := s.stop()
		wg.Wait()
		if code != 0 {
			t.Errorf("run returned %d", code)
		}

		st := s.l.Stats(0) // final: run has returned
		logStats(t, st)
		t.Logf("clients wrote %v frames; the server read %d before the shutdown; %d bytes were queued just before it",
			wrote, st.FramesIn, before.QueuedBytes)
		seqs := map[string][][]byte{}
		for i, g := range got {
			if g.err != io.EOF {
				t.Errorf("client %d: stream ended with %v (partial %d bytes), want a clean EOF", i, g.err, len(g.partial))
			}
			seqs[fmt.Sprint("client ", i)] = g.frames
		}
		ref := got[0].frames
		checkOrder(t, "client 0", ref, sent, false)
		checkSame(t, ref, seqs)
		if uint64(len(ref)) != st.FramesIn || st.FramesOut != clients*st.FramesIn {
			t.Errorf("clients received %d frames; the server read %d and queued %d deliveries (want %d each)",
				len(ref), st.FramesIn, st.FramesOut, clients)
		}
		if st.Closed[server.ReasonShutdown] != clients || st.ClosedTotal() != clients {
			t.Errorf("closed %v, want %d with reason shutdown", st.Closed, clients)
		}
	})
}
