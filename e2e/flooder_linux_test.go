package e2e

import (
	"bytes"
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
// the flood stops. Nobody may have been closed; every chatter must hold
// every chat frame in one order; once the server has read nothing for
// 500 ms, each reader must have received every frame the server read. The
// test logs how much the flooder wrote and how much the server read.
func TestFlooderEvictsNobody(t *testing.T) {
	brokenUntilFixed(t, "break 4: one flooder evicts every slower member")
	const chatters, readers, perChatter, readerRate = 10, 2, 150, 2e6
	f := server.FramingMob
	seed := testSeed(t)
	p := startMob(t, false, "-framing", "mob")
	flooder := dial(t, p.addr, sockOpts{})
	conns := dialMembers(t, p, chatters+readers, 1+chatters+readers)
	isFlood := func(b []byte) bool { return bytes.HasPrefix(b, []byte("flood:")) }

	counts := make([]atomic.Int64, readers)
	readErrs := make([]error, readers)
	ended := make([]chan struct{}, readers)
	var wg sync.WaitGroup
	for i, c := range conns[chatters:] {
		wg.Add(1)
		ended[i] = make(chan struct{})
		go func() {
			defer wg.Done()
			defer close(ended[i])
			got := newFrameReader(newRateReader(c, readerRate, 64<<10, nil), f, 1<<16).readFrames(-1, func([]byte) bool {
				counts[i].Add(1)
				return true
			})
			readErrs[i] = got.err
		}()
	}
	floodEnd := make(chan error, 1)
	go func() { floodEnd <- drain(flooder) }()
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
	g := startChat(t, f, seed, conns[:chatters], perChatter, 300, 10*time.Millisecond, isFlood)
	order := g.wait()
	stop.stop()
	floodErr := <-floodDone
	elapsed := time.Since(start)
	v := p.vars()
	for last, since := v.FramesIn, time.Now(); time.Since(since) < 500*time.Millisecond; {
		time.Sleep(20 * time.Millisecond)
		if v = p.vars(); v.FramesIn != last {
			last, since = v.FramesIn, time.Now()
		}
	}
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
	t.Logf("in %v the flooder wrote %d frames (%.1f MB; write error %v); the server read %d frames, %.1f MB, and closed %v",
		elapsed.Round(time.Millisecond), flooded.Load(), float64(flooded.Load())*1008/1e6, floodErr, v.FramesIn, float64(v.BytesIn)/1e6, v.Closed)
	if v.ClosedTotal != 0 {
		t.Errorf("the server closed %v during the flood, want nobody", v.Closed)
	}
	if len(order) != chatters*perChatter {
		t.Errorf("the chat's order holds %d frames, want %d", len(order), chatters*perChatter)
	}
	for _, c := range append(conns, flooder) {
		c.SetLinger(0) // ends the readers; an RST leaves no TIME_WAIT
		c.Close()
	}
	wg.Wait()
	<-floodEnd
	for i := range counts {
		if n := counts[i].Load(); n != int64(v.FramesIn) {
			t.Errorf("2 MB/s reader %d received %d frames of the %d the server read (its stream: %v)", i, n, v.FramesIn, readErrs[i])
		}
	}
}
