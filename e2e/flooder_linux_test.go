package e2e

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mobsim/mobsim/server"
)

// Goal: one client sending as fast as it can costs nobody else their
// connection (issue 11, break 4). Without a limit on a sender's rate the
// flooder's frames fill every slower member's queue past -queue-bytes-max,
// and the server evicts them all (10 chatters and two 2 MB/s readers
// within 2.1 s, the flooder itself at 1.9 s); nothing is lost for a client
// only if the server reads the flooder more slowly instead.
//
// Method: at default flags (mob framing), ten chatters send 150 frames
// each (up to 300 bytes, 10 ms apart on average) and read flat out, two
// readers read at 2 MB/s, and a flooder sends 1,000-byte frames flat out
// (64 per write) and reads flat out, for as long as the chat lasts. Then
// the flood stops. Every member reads to the end. Once the server has read
// nothing for 500 ms (a rate-limited flooder's backlog drains for a while
// after it stops), each member must have received every frame the server
// read, the chat frames in one order, and nobody may have been closed.
// The test logs how much the flooder wrote and how much the server read.
func TestFlooderEvictsNobody(t *testing.T) {
	const chatters, readers, perChatter, readerRate = 10, 2, 150, 2e6
	f := server.FramingMob
	seed := testSeed(t)
	p := startMob(t, false, "-framing", "mob")
	flooder := dial(t, p.addr, sockOpts{})
	conns := dialMembers(t, p, chatters+readers, 1+chatters+readers)
	sent := make([][][]byte, chatters)
	for i := range sent {
		sent[i] = makeFrames(rand.New(rand.NewPCG(seed, uint64(i))), f, i, perChatter, 300)
	}
	chat := index(sent)

	// Every member reads until its stream ends, counting frames and keeping
	// the chat's.
	counts := make([]atomic.Int64, len(conns))
	got := make([]received, len(conns))
	ended := make([]chan struct{}, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		ended[i] = make(chan struct{})
		var src io.Reader = c
		if i >= chatters {
			src = newRateReader(c, readerRate, 64<<10, nil)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(ended[i])
			got[i] = newFrameReader(src, f, 1<<16).readFrames(-1, func(b []byte) bool {
				counts[i].Add(1)
				_, ok := chat[string(b)]
				return ok
			})
		}()
	}
	go drain(flooder)
	stop := newStop()
	var flooded atomic.Int64
	floodDone := make(chan error, 1)
	go func() {
		batch := bytes.Repeat(f.Encode(nil, append([]byte("flood:"), bytes.Repeat([]byte{'f'}, 994)...)), 64)
		for {
			select {
			case <-stop.ch:
				floodDone <- nil
				return
			default:
			}
			if _, err := flooder.Write(batch); err != nil {
				floodDone <- err
				return
			}
			flooded.Add(64)
		}
	}()
	start := time.Now()
	var senders sync.WaitGroup
	for i, c := range conns[:chatters] {
		senders.Add(1)
		go func() {
			defer senders.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(1000+i)))
			for _, b := range sent[i] {
				if err := writeSplit(c, rng, f.Encode(nil, b)); err != nil {
					return // its reads say what it lost
				}
				time.Sleep(time.Duration(rng.Int64N(int64(20 * time.Millisecond))))
			}
		}()
	}
	senders.Wait()
	stop.stop()
	floodErr := <-floodDone
	elapsed := time.Since(start)
	v := p.waitStill(func(v mobVars) uint64 { return v.FramesIn })
	for i := range counts {
		deadline := time.After(testTimeout)
	wait:
		for counts[i].Load() < int64(v.FramesIn) {
			select {
			case <-ended[i]:
				break wait
			case <-deadline:
				break wait
			case <-time.After(time.Millisecond):
			}
		}
	}
	t.Logf("in %v the flooder wrote %d frames (%.1f MB; write error %v); the server read %d frames, %.1f MB, stopped readers %d times, and closed %v",
		elapsed.Round(time.Millisecond), flooded.Load(), float64(flooded.Load())*1008/1e6, floodErr, v.FramesIn, float64(v.BytesIn)/1e6, v.Throttles, v.Closed)
	for _, c := range append(conns, flooder) {
		c.SetLinger(0) // ends the readers; an RST leaves no TIME_WAIT
		c.Close()
	}
	wg.Wait()
	if v.ClosedTotal != 0 {
		t.Errorf("the server closed %v during the flood, want nobody", v.Closed)
	}
	seqs := make([][][]byte, len(conns))
	for i, g := range got {
		name := fmt.Sprint("chatter ", i)
		if i >= chatters {
			name = fmt.Sprint("2 MB/s reader ", i-chatters)
		}
		if n := counts[i].Load(); n != int64(v.FramesIn) {
			t.Errorf("%s received %d frames of the %d the server read (its stream: %v)", name, n, v.FramesIn, g.err)
		}
		for _, b := range g.frames {
			if _, ok := chat[string(b)]; ok {
				seqs[i] = append(seqs[i], b)
			}
		}
		checkOrder(t, name, seqs[i], sent, true)
	}
	checkSame(t, "member", seqs)
}
