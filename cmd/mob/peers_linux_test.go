//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mobsim/mobsim/server"
)

// Goal: a client that resets its connection mid-stream, with a partial
// frame pending, affects only itself: the others get every complete frame
// (its own included) and the server keeps serving them. Method: 4 chatters
// send random frames concurrently; meanwhile a fifth client sends 5
// frames, waits for their echo (so the server has read them), writes half
// a frame and aborts (SO_LINGER 0, so the kernel sends RST). The chatters
// send the second half of their frames only after the server has closed
// the resetter. Each chatter must receive the same sequence: all chatter
// frames and the resetter's 5, never the partial one.
func TestResetAffectsOnlyThatClient(t *testing.T) {
	framings(t, func(t *testing.T, f server.Framing) {
		const chatters, perChatter, resetterFrames, extraMax = 4, 60, 5, 2000
		seed := testSeed(t)
		s := startServer(t, "-framing", f.String(), "-frame-bytes-max", "4096")
		conns := s.dialMembers(chatters+1, 0)
		rc := conns[chatters]

		sent := make([][][]byte, chatters+1)
		for i := range sent {
			n := perChatter
			if i == chatters {
				n = resetterFrames
			}
			sent[i] = makeFrames(rand.New(rand.NewPCG(seed, uint64(i))), f, i, n, extraMax)
		}
		want := chatters*perChatter + resetterFrames
		resetDone := make(chan struct{})
		closeReset := sync.OnceFunc(func() { close(resetDone) })
		defer closeReset() // on a failure below too, so no writer waits forever
		got := make([]received, chatters)
		var wg sync.WaitGroup
		for i, c := range conns[:chatters] {
			wg.Add(2)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(seed, uint64(100+i)))
				half := len(sent[i]) / 2
				err := writeSplit(c, rng, encodeAll(f, sent[i][:half]))
				<-resetDone
				if err == nil {
					err = writeSplit(c, rng, encodeAll(f, sent[i][half:]))
				}
				if err != nil {
					t.Errorf("chatter %d: write: %v", i, err)
				}
			}()
			go func() {
				defer wg.Done()
				got[i] = newFrameReader(c, f, 4096+64).readFrames(want, nil)
			}()
		}

		// The resetter: frames, wait for their echo, half a frame, RST.
		rng := rand.New(rand.NewPCG(seed, 200))
		if err := writeSplit(rc, rng, encodeAll(f, sent[chatters])); err != nil {
			t.Fatalf("resetter: write: %v", err)
		}
		fr := newFrameReader(rc, f, 4096+64)
		own := fmt.Appendf(nil, "c%02d-", chatters)
		for seen := 0; seen < resetterFrames; {
			b, err := fr.next()
			if err != nil {
				t.Fatalf("resetter: read: %v after %d of its own frames", err, seen)
			}
			if bytes.HasPrefix(b, own) {
				seen++
			}
		}
		partial := f.Encode(nil, fmt.Appendf(nil, "c%02d-partial:%s", chatters, bytes.Repeat([]byte{'x'}, 1000)))
		if _, err := rc.Write(partial[:len(partial)/2]); err != nil {
			t.Fatalf("resetter: write partial frame: %v", err)
		}
		if err := rc.SetLinger(0); err != nil {
			t.Fatalf("resetter: set linger: %v", err)
		}
		rc.Close()
		st := s.waitStats("the resetter to be closed", func(st server.Stats) bool { return st.ClosedTotal() == 1 })
		closeReset()
		wg.Wait()

		seqs := map[string][][]byte{}
		for i, g := range got {
			if g.err != nil {
				t.Errorf("chatter %d: read: %v", i, g.err)
			}
			seqs[fmt.Sprint("chatter ", i)] = g.frames
		}
		checkOrder(t, "chatter 0", got[0].frames, sent, true)
		checkSame(t, got[0].frames, seqs)
		reset, werr := st.Closed[server.ReasonReset], st.Closed[server.ReasonWriteError]
		t.Logf("the resetter was closed with reason reset=%d write-error=%d", reset, werr)
		if reset+werr != 1 {
			t.Errorf("closed %v, want the resetter closed as reset or write-error", st.Closed)
		}

		for _, c := range conns[:chatters] {
			c.CloseWrite()
		}
		st = s.waitStats("every client to be closed", func(st server.Stats) bool { return st.Conns == 0 })
		logStats(t, st)
		if code := s.stop(); code != 0 {
			t.Errorf("run returned %d", code)
		}
		if st.FramesIn != uint64(want) {
			t.Errorf("frames in = %d, want %d (the partial frame must not count)", st.FramesIn, want)
		}
		if st.Closed[server.ReasonEOF] != chatters {
			t.Errorf("closed %v, want %d chatters with reason eof", st.Closed, chatters)
		}
	})
}

// Goal: a client that never reads is disconnected when it is owed more than
// -queue-bytes-max, and nobody else loses anything. Method: a client with a
// 4 KiB SO_RCVBUF never reads while 3 senders exchange 360 frames (about
// 350 KiB) through a server with a 64 KiB queue limit and 16 KiB send
// buffers. The senders share a window of 4 frames that a frame leaves only
// once all 3 have received it, so no sender ever falls behind: only the
// never-reader can reach the limit. Afterwards the never-reader drains its
// socket: it must hold a prefix of the senders' sequence (maybe cut inside
// a frame), then a clean end of stream.
func TestNeverReaderHitsQueueLimit(t *testing.T) {
	const senders, perSender, extraMax, window = 3, 120, 1800, 4
	const queueBytesMax, frameBytesMax = 64 << 10, 2048
	f := server.FramingMob
	seed := testSeed(t)
	s := startServer(t, "-framing", f.String(), "-frame-bytes-max", strconv.Itoa(frameBytesMax),
		"-queue-bytes-max", strconv.Itoa(queueBytesMax), "-send-buf-bytes", "16384")
	conns := s.dialMembers(senders, 0)
	lazy := dial(t, s.l.Addr().String(), 4096)
	s.waitMembers(senders + 1)

	sent := make([][][]byte, senders)
	for i := range sent {
		sent[i] = makeFrames(rand.New(rand.NewPCG(seed, uint64(i))), f, i, perSender, extraMax)
	}
	// credits is the shared window; arrivals counts who has each frame.
	credits := make(chan struct{}, window)
	for range window {
		credits <- struct{}{}
	}
	var mu sync.Mutex
	arrivals := map[string]int{}
	arrived := func(b []byte) {
		mu.Lock()
		defer mu.Unlock()
		if arrivals[string(b)]++; arrivals[string(b)] == senders {
			delete(arrivals, string(b))
			credits <- struct{}{}
		}
	}
	got := make([]received, senders)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(2)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(100+i)))
			for _, b := range sent[i] {
				<-credits
				if err := writeSplit(c, rng, f.Encode(nil, b)); err != nil {
					t.Errorf("sender %d: write: %v", i, err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			got[i] = newFrameReader(c, f, frameBytesMax).readFrames(senders*perSender, arrived)
		}()
	}
	wg.Wait()

	seqs := map[string][][]byte{}
	for i, g := range got {
		if g.err != nil {
			t.Errorf("sender %d: read: %v", i, g.err)
		}
		seqs[fmt.Sprint("sender ", i)] = g.frames
	}
	ref := got[0].frames
	checkOrder(t, "sender 0", ref, sent, true)
	checkSame(t, ref, seqs)
	st := s.waitStats("the never-reader to be closed", func(st server.Stats) bool { return st.ClosedTotal() == 1 })
	logStats(t, st)
	if st.Closed[server.ReasonQueueLimit] != 1 {
		t.Errorf("closed %v, want the never-reader closed with reason queue-limit", st.Closed)
	}
	if st.QueuedBytesHi > queueBytesMax {
		t.Errorf("queued bytes high-water mark %d exceeds the limit %d", st.QueuedBytesHi, queueBytesMax)
	}

	drainStart := time.Now()
	lz := newFrameReader(lazy, f, frameBytesMax).readFrames(-1, nil)
	t.Logf("the never-reader held %d of %d frames and %d bytes of the next (drained in %v)",
		len(lz.frames), len(ref), len(lz.partial), time.Since(drainStart).Round(time.Millisecond))
	if lz.err != io.EOF && !errors.Is(lz.err, errPartial) {
		t.Errorf("never-reader: stream ended with %v, want the end of stream", lz.err)
	}
	checkPrefix(t, "never-reader", lz.frames, ref)
	if n := len(lz.frames); n >= len(ref) {
		t.Errorf("never-reader received all %d frames: the queue limit never bit", n)
	} else if next := f.Encode(nil, ref[n]); !bytes.HasPrefix(next, lz.partial) {
		t.Errorf("never-reader: the trailing %d bytes are not the start of frame %d", len(lz.partial), n)
	}

	for _, c := range conns {
		c.CloseWrite()
	}
	s.waitStats("every client to be closed", func(st server.Stats) bool { return st.Conns == 0 })
	if code := s.stop(); code != 0 {
		t.Errorf("run returned %d", code)
	}
}
