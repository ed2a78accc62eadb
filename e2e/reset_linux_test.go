package e2e

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

// Goal: storms of resets and half-closes in the middle of a frame cost the
// server nothing but those connections: it stays up, bystanders get every
// complete frame and never a piece of a partial one, a half-closer's
// complete frames are broadcast and it gets a clean end of stream, and the
// counters tell resets and FINs apart. Method: three bystanders chat
// through the child server while 16 goroutines each run 10 rounds of
// connect, send a complete frame and half of another, then reset (SO_LINGER
// 0 and close: an RST, no FIN), and 8 goroutines each run 5 rounds of
// connect, send a complete frame and half of another, CloseWrite, and read
// to the end of stream. Then bystander 0 sends a marker and all read up to
// it. Checked: every bystander holds the same sequence; the group's frames
// complete and in order; every half-closer's complete frame exactly once;
// a resetter's complete frame at most once (the reset may discard it before
// the server reads it); no partial frame; and the server closed exactly the
// storm's connections, the half-closers for eof and the resetters for reset
// or write-error.
func TestResetStormAndHalfClose(t *testing.T) {
	const resetters, resetRounds, halfClosers, halfRounds = 16, 10, 8, 5
	f := server.FramingLine
	seed := testSeed(t)
	p := startMob(t, false, "-frame-bytes-max", "4096")
	bystanders := dialMembers(t, p, 3, 3)

	stormFrames := map[string]bool{} // complete frames the storm may send
	for g := range resetters {
		for r := range resetRounds {
			stormFrames[fmt.Sprintf("reset %d.%d complete", g, r)] = true
		}
	}
	for g := range halfClosers {
		for r := range halfRounds {
			stormFrames[fmt.Sprintf("half %d.%d complete", g, r)] = true
		}
	}
	chat := startChat(t, f, seed, bystanders, 300, 100, 2*time.Millisecond, func(b []byte) bool { return stormFrames[string(b)] })

	var wg sync.WaitGroup
	for g := range resetters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range resetRounds {
				c, err := dialErr(p.addr, sockOpts{})
				if err != nil {
					t.Errorf("resetter %d.%d: dial: %v", g, r, err)
					return
				}
				msg := fmt.Appendf(nil, "reset %d.%d complete\nreset %d.%d partial", g, r, g, r)
				if _, err := c.Write(msg); err != nil {
					t.Errorf("resetter %d.%d: write: %v", g, r, err)
				}
				if err := c.SetLinger(0); err != nil {
					t.Errorf("resetter %d.%d: SO_LINGER: %v", g, r, err)
				}
				c.Close()
			}
		}()
	}
	for g := range halfClosers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range halfRounds {
				c, err := dialErr(p.addr, sockOpts{})
				if err != nil {
					t.Errorf("half-closer %d.%d: dial: %v", g, r, err)
					return
				}
				msg := fmt.Appendf(nil, "half %d.%d complete\nhalf %d.%d partial", g, r, g, r)
				if _, err := c.Write(msg); err != nil {
					t.Errorf("half-closer %d.%d: write: %v", g, r, err)
				}
				if err := c.CloseWrite(); err != nil {
					t.Errorf("half-closer %d.%d: close write: %v", g, r, err)
				}
				// It is a member until its FIN is read: it may receive
				// frames, must end at a frame boundary and cleanly.
				got := newFrameReader(c, f, 1<<16).readFrames(-1, nil)
				if got.err != io.EOF {
					t.Errorf("half-closer %d.%d: stream ended with %v (partial %q), want a clean end", g, r, got.err, got.partial)
				}
				c.Close()
			}
		}()
	}
	wg.Wait()
	chat.wait()
	full := chat.finish([]byte("marker: the storm is over"))

	for i, seq := range full {
		if i > 0 {
			if d := firstDiff(full[0], seq); d >= 0 {
				t.Errorf("bystander %d's sequence differs from bystander 0's at frame %d", i, d)
			}
		}
	}
	seen := map[string]int{}
	resetFrames := 0
	for _, b := range full[0] {
		if bytes.Contains(b, []byte("partial")) {
			t.Errorf("a partial frame reached the bystanders: %q", b)
		}
		if stormFrames[string(b)] {
			seen[string(b)]++
			if bytes.HasPrefix(b, []byte("reset ")) {
				resetFrames++
			}
		}
	}
	for b := range stormFrames {
		half := bytes.HasPrefix([]byte(b), []byte("half "))
		switch n := seen[b]; {
		case n > 1:
			t.Errorf("storm frame %q reached the bystanders %d times", b, n)
		case half && n != 1:
			t.Errorf("half-closer's complete frame %q reached the bystanders %d times, want once", b, n)
		}
	}

	storm := uint64(resetters*resetRounds + halfClosers*halfRounds)
	v := p.waitVars("the storm's connections to be closed", func(v mobVars) bool { return v.ClosedTotal >= storm })
	t.Logf("%d of %d resetters' complete frames were broadcast; server: accepted %d, closed %v, accept errors %d",
		resetFrames, resetters*resetRounds, v.Accepted, v.Closed, v.AcceptErrors)
	if v.Closed["eof"] != halfClosers*halfRounds {
		t.Errorf("server closed %d connections for eof, want the %d half-closers", v.Closed["eof"], halfClosers*halfRounds)
	}
	resets := v.Closed["reset"] + v.Closed["write-error"]
	if resets+v.AcceptErrors != resetters*resetRounds || v.Closed["reset"] == 0 {
		t.Errorf("server closed %d connections for reset and %d for write-error, with %d accept errors; want %d resets in all",
			v.Closed["reset"], v.Closed["write-error"], v.AcceptErrors, resetters*resetRounds)
	}
	if v.ClosedTotal != storm || v.Members != 3 || v.Conns != 3 {
		t.Errorf("server closed %d, has %d members and %d connections; want %d closed and the 3 bystanders",
			v.ClosedTotal, v.Members, v.Conns, storm)
	}
}

// Goal: a client that resets its connection mid-stream, with a partial
// frame pending, affects only itself: the others get every complete frame
// (its own included, once the server has read them) and the server keeps
// serving them. Method: 4 chatters send random frames concurrently;
// meanwhile a fifth client sends 5 frames, waits for their echo (so the
// server has read them), writes half a frame and aborts (SO_LINGER 0, so
// the kernel sends RST). The chatters send the second half of their frames
// only after the server has closed the resetter. Each chatter must receive
// the same sequence: all chatter frames and the resetter's 5, never the
// partial one.
func TestResetAffectsOnlyThatClient(t *testing.T) {
	framings(t, func(t *testing.T, f server.Framing) {
		const chatters, perChatter, resetterFrames, extraMax = 4, 60, 5, 2000
		seed := testSeed(t)
		p := startMob(t, false, "-framing", f.String(), "-frame-bytes-max", "4096")
		conns := dialMembers(t, p, chatters+1, chatters+1)
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
				got[i] = newFrameReader(c, f, 4096).readFrames(want, nil)
			}()
		}

		// The resetter: frames, wait for their echo, half a frame, RST.
		rng := rand.New(rand.NewPCG(seed, 200))
		if err := writeSplit(rc, rng, encodeAll(f, sent[chatters])); err != nil {
			t.Fatalf("resetter: write: %v", err)
		}
		fr := newFrameReader(rc, f, 4096)
		own := fmt.Appendf(nil, "c%02d-", chatters)
		for seen := 0; seen < resetterFrames; {
			b, err := fr.Next()
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
		v := p.waitVars("the resetter to be closed", func(v mobVars) bool { return v.ClosedTotal == 1 })
		closeReset()
		wg.Wait()

		seqs := make([][][]byte, chatters)
		for i, g := range got {
			if g.err != nil {
				t.Errorf("chatter %d: read: %v", i, g.err)
			}
			checkOrder(t, fmt.Sprint("chatter ", i), g.frames, sent, true)
			seqs[i] = g.frames
		}
		checkSame(t, "chatter", seqs)
		t.Logf("the resetter was closed with reason reset=%d write-error=%d", v.Closed["reset"], v.Closed["write-error"])
		if v.Closed["reset"]+v.Closed["write-error"] != 1 {
			t.Errorf("closed %v, want the resetter closed as reset or write-error", v.Closed)
		}

		for _, c := range conns[:chatters] {
			c.CloseWrite()
		}
		v = p.waitVars("every client to be closed", func(v mobVars) bool { return v.Conns == 0 })
		t.Logf("counters: %+v", v)
		if v.FramesIn != uint64(want) {
			t.Errorf("frames in = %d, want %d (the partial frame must not count)", v.FramesIn, want)
		}
		if v.Closed["eof"] != chatters {
			t.Errorf("closed %v, want %d chatters with reason eof", v.Closed, chatters)
		}
		if _, err := p.sigterm(); err != nil {
			t.Errorf("exit after SIGTERM: %v, want status 0", err)
		}
	})
}
