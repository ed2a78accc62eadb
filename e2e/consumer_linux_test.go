package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/mobsim/mobsim/internal/wire"
	"github.com/mobsim/mobsim/server"
)

// Goal: a client that never reads is disconnected (reason queue-limit) once
// it is owed more than -queue-bytes-max, the others see no gap, and the
// server's memory stays near the limit however much traffic flows. Method:
// the child server runs with a 1 MiB queue limit and 16 KiB send buffers;
// a client with a 4 KiB SO_RCVBUF joins and never reads while 3 bystanders
// exchange about 29 MiB of mob frames (up to 64 KiB each). A shared window
// of 8 frames (at most 512 KiB), which a frame leaves only once all 3
// bystanders have it, keeps the bystanders inside the limit, so only the
// never-reader can reach it. A server that queued without bound would hold
// all 29 MiB for the never-reader; its VmHWM is recorded and must stay
// within 16 MiB of its starting VmRSS. Afterwards the never-reader drains
// its socket: a prefix of the bystanders' order, perhaps cut inside a
// frame, then the end of stream.
func TestNeverReaderQueueLimit(t *testing.T) {
	const bystanders, perSender, frameBytesMax, window = 3, 300, 64 << 10, 8
	const queueBytesMax = 1 << 20
	f := server.FramingMob
	seed := testSeed(t)
	p := startMob(t, false, "-framing", "mob", "-frame-bytes-max", fmt.Sprint(frameBytesMax),
		"-queue-bytes-max", fmt.Sprint(queueBytesMax), "-send-buf-bytes", "16384")
	conns := dialMembers(t, p, bystanders, bystanders)
	lazy := dial(t, p.addr, sockOpts{rcvBuf: 4096})
	p.waitMembers(bystanders + 1)
	rssBefore, _ := p.memory()

	sent := make([][][]byte, bystanders)
	var total int
	for i := range sent {
		sent[i] = makeFrames(rand.New(rand.NewPCG(seed, uint64(i))), f, i, perSender, frameBytesMax-16)
		for _, b := range sent[i] {
			total += len(b)
		}
	}
	credits := make(chan struct{}, window)
	for range window {
		credits <- struct{}{}
	}
	var mu sync.Mutex
	arrivals := map[string]int{}
	got := make([]received, bystanders)
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range conns {
		wg.Add(2)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(100+i)))
			for _, b := range sent[i] {
				select {
				case <-credits:
				case <-time.After(testTimeout):
					t.Errorf("bystander %d: no room in the window for %v", i, testTimeout)
					return
				}
				if err := writeSplit(c, rng, f.Encode(nil, b)); err != nil {
					t.Errorf("bystander %d: write: %v", i, err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			got[i] = newFrameReader(c, f, frameBytesMax).readFrames(bystanders*perSender, func(b []byte) bool {
				mu.Lock()
				defer mu.Unlock()
				if arrivals[string(b)]++; arrivals[string(b)] == bystanders {
					delete(arrivals, string(b))
					credits <- struct{}{}
				}
				return true
			})
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	reason := p.closedReason(lazy.LocalAddr().String())
	v := p.vars()
	rssAfter, hwm := p.memory()

	var ref [][]byte
	for i, g := range got {
		if g.err != nil {
			t.Errorf("bystander %d: read: %v after %d frames", i, g.err, len(g.frames))
			continue
		}
		name := fmt.Sprint("bystander ", i)
		checkOrder(t, name, g.frames, sent, true)
		if ref == nil {
			ref = g.frames
		} else if d := firstDiff(ref, g.frames); d >= 0 {
			t.Errorf("%s's order differs from bystander 0's at frame %d", name, d)
		}
	}
	t.Logf("%d frames, %.1f MiB, relayed to 3 bystanders in %v", len(ref), float64(total)/mib, elapsed.Round(time.Millisecond))
	t.Logf("server VmRSS before %.1f MiB, after %.1f MiB; peak (VmHWM) %.1f MiB; queued_bytes_hi %d (limit %d)",
		float64(rssBefore)/mib, float64(rssAfter)/mib, float64(hwm)/mib, v.QueuedBytesHi, queueBytesMax)
	if reason != "queue-limit" {
		t.Errorf("never-reader closed with reason %s, want queue-limit", reason)
	}
	if v.Closed["queue-limit"] != 1 || v.ClosedTotal != 1 || v.Members != bystanders {
		t.Errorf("server closed %v, has %d members; want only the never-reader closed, for queue-limit", v.Closed, v.Members)
	}
	if v.QueuedBytesHi > queueBytesMax {
		t.Errorf("queued_bytes_hi %d exceeds the limit %d", v.QueuedBytesHi, queueBytesMax)
	}
	if grew := hwm - rssBefore; grew > 16*mib {
		t.Errorf("server peak RSS is %.1f MiB above its start, want < 16 MiB (the traffic was %.1f MiB)",
			float64(grew)/mib, float64(total)/mib)
	}

	lz := newFrameReader(lazy, f, frameBytesMax).readFrames(-1, nil)
	t.Logf("the never-reader held %d of %d frames and %d bytes of the next", len(lz.frames), len(ref), len(lz.partial))
	if lz.err != io.EOF && !errors.Is(lz.err, wire.ErrPartial) {
		t.Errorf("never-reader: stream ended with %v, want the end of stream", lz.err)
	}
	checkPrefix(t, "never-reader", lz.frames, ref)
	if n := len(lz.frames); n >= len(ref) {
		t.Errorf("never-reader received all %d frames: the queue limit never bit", n)
	} else if next := f.Encode(nil, ref[n]); !bytes.HasPrefix(next, lz.partial) {
		t.Errorf("never-reader: the trailing %d bytes are not the start of frame %d", len(lz.partial), n)
	}
}
