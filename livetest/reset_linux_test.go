//go:build linux

package livetest

import (
	"bytes"
	"fmt"
	"io"
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
