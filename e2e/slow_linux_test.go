package e2e

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mobsim/mobsim/server"
)

// expectFrames reads len(want) frames from each reader and checks them
// byte-exact against want, in order.
func expectFrames(t *testing.T, what string, readers []*frameReader, want ...[]byte) {
	t.Helper()
	var wg sync.WaitGroup
	got := make([]received, len(readers))
	for i, r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = r.readFrames(len(want), nil)
		}()
	}
	wg.Wait()
	for i, g := range got {
		if g.err != nil {
			t.Fatalf("%s: client %d: read: %v after %d frames", what, i, g.err, len(g.frames))
		}
		for j := range want {
			if !bytes.Equal(g.frames[j], want[j]) {
				t.Fatalf("%s: client %d: frame %d is %q..., want %q...", what, i, j, clip(g.frames[j]), clip(want[j]))
			}
		}
	}
}

// dribble writes b one byte per write. Go sets TCP_NODELAY, so each byte
// leaves in its own segment and the server reads them one by one.
func dribble(t *testing.T, c net.Conn, b []byte) {
	t.Helper()
	for i := range b {
		if _, err := c.Write(b[i : i+1]); err != nil {
			t.Fatalf("dribble byte %d: %v", i, err)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// Goal: a frame dribbled one byte at a time (slowloris) is delivered whole
// and byte-exact, and while it is incomplete the other clients' frames go
// through without waiting for it. Method: client A sends half its frame a
// byte per write; B sends a frame that all three must receive; then A
// sends the rest a byte per write, and after every 16 bytes C sends a frame
// that all three must receive before A goes on. The sequence every client
// reads must be B's frame, C's frames, then A's frame. Both framings (mob
// splits the header too).
func TestSlowlorisByteByByte(t *testing.T) {
	for _, f := range []server.Framing{server.FramingLine, server.FramingMob} {
		t.Run(f.String(), func(t *testing.T) {
			seed := testSeed(t)
			rng := rand.New(rand.NewPCG(seed, 0))
			p := startMob(t, false, "-framing", f.String(), "-frame-bytes-max", "4096")
			conns := dialMembers(t, p, 3, 3)
			a, b, c := conns[0], conns[1], conns[2]
			readers := make([]*frameReader, len(conns))
			for i, conn := range conns {
				readers[i] = newFrameReader(conn, f, 4096)
			}

			slow := []byte("slow frame from A:")
			for range 300 {
				x := byte(rng.Uint32())
				if f == server.FramingLine && x == '\n' {
					x = 0
				}
				slow = append(slow, x)
			}
			wire := f.Encode(nil, slow)
			half := len(wire) / 2
			dribble(t, a, wire[:half])

			fromB := []byte("frame from B while A's is half sent")
			if _, err := b.Write(f.Encode(nil, fromB)); err != nil {
				t.Fatal(err)
			}
			expectFrames(t, "B's frame", readers, fromB)

			rest := wire[half:]
			var fromC [][]byte
			for len(rest) > 0 {
				n := min(16, len(rest))
				dribble(t, a, rest[:n])
				rest = rest[n:]
				if len(rest) == 0 {
					break
				}
				m := fmt.Appendf(nil, "frame %d from C, A has %d bytes left", len(fromC), len(rest))
				if _, err := c.Write(f.Encode(nil, m)); err != nil {
					t.Fatal(err)
				}
				expectFrames(t, "C's frame", readers, m)
				fromC = append(fromC, m)
			}
			expectFrames(t, "A's slow frame", readers, slow)
			v := p.vars()
			t.Logf("A's %d-byte frame arrived whole after %d frames from C; server: %d frames in, %d bytes in",
				len(wire), len(fromC), v.FramesIn, v.BytesIn)
			if want := uint64(2 + len(fromC)); v.FramesIn != want || v.ClosedTotal != 0 {
				t.Errorf("server read %d frames and closed %v; want %d frames and no close", v.FramesIn, v.Closed, want)
			}
		})
	}
}

// Goal: a connection that sends nothing is closed by the idle timeout with
// reason idle after receiving every frame it was owed, and clients that
// talk are not. Method: the child server runs with -idle-timeout 1500ms; a
// silent client joins with two bystanders that each send a frame every
// 50 ms (on average) for about 2.5 s and must receive all of them. The
// silent client reads until the server closes it: it must hold a prefix of
// the bystanders' order, then one frame "error: idle ..." saying why, then
// a clean end of stream, and the close must not come before the timeout. The close reason comes from the server's
// log line for its address and from the counters.
func TestIdleTimeout(t *testing.T) {
	const idleTimeout = 1500 * time.Millisecond
	f := server.FramingLine
	seed := testSeed(t)
	p := startMob(t, false, "-idle-timeout", idleTimeout.String())
	bystanders := dialMembers(t, p, 2, 2)
	start := time.Now()
	silent := dial(t, p.addr, sockOpts{})
	p.waitMembers(3)

	g := startChat(t, f, seed, bystanders, 50, 100, 50*time.Millisecond, nil)
	got := newFrameReader(silent, f, 1<<16).readFrames(-1, nil)
	closedAfter := time.Since(start)
	silent.Close()
	reason := p.closedReason(silent.LocalAddr().String())
	order := g.wait()

	t.Logf("silent client closed after %v with reason %s, holding %d of %d frames",
		closedAfter.Round(time.Millisecond), reason, len(got.frames), len(order))
	if got.err != io.EOF {
		t.Errorf("silent client: stream ended with %v (partial %d bytes), want a clean end of stream", got.err, len(got.partial))
	}
	if n := len(got.frames); n == 0 || !strings.HasPrefix(string(got.frames[n-1]), "error: idle") {
		t.Errorf("silent client's last frame is not the idle error: %d frames", n)
	} else {
		t.Logf("told: %q", got.frames[n-1])
		got.frames = got.frames[:n-1]
	}
	checkPrefix(t, "silent client", got.frames, order)
	if reason != "idle" {
		t.Errorf("silent client closed with reason %s, want idle", reason)
	}
	if closedAfter < idleTimeout {
		t.Errorf("silent client closed %v after it connected, before the idle timeout %v", closedAfter, idleTimeout)
	}
	v := p.vars()
	if v.Closed["idle"] != 1 || v.ClosedTotal != 1 || v.Members != 2 {
		t.Errorf("server closed %v and has %d members; want only the silent client closed, for idle", v.Closed, v.Members)
	}
}

// Goal: idle time is measured in complete frames, not bytes (issue 11,
// break 2): a client that keeps a frame open by sending one byte of it
// every 1.5 s is idle, and -idle-timeout 2s closes it, with an
// "error: idle" frame first, as a protocol error is told; a client that
// sends a complete frame every 500 ms is not idle. Before, any byte reset
// the idle timer, so the dribbler kept its connection (and its partial
// frame) for as long as it liked.
//
// Method: the dribbler sends a line's bytes one per 1.5 s and reads what
// the server sends; the talker sends a line every 500 ms. The dribbler
// must be closed before its sixth byte (9 s, over four times the timeout:
// a loaded machine only makes the bytes come later, which cannot keep the
// connection open longer), having read the error frame and then the end
// of stream; the server must log reason idle for it and nothing for the
// talker.
func TestPartialFrameIdle(t *testing.T) {
	const idleTimeout, every, bytesMax = 2 * time.Second, 1500 * time.Millisecond, 6
	f := server.FramingLine
	p := startMob(t, false, "-idle-timeout", idleTimeout.String())
	conns := dialMembers(t, p, 2, 2)
	dribbler, talker := conns[0], conns[1]
	stop := newStop()
	talked := make(chan int)
	go func() {
		n := 0
		defer func() { talked <- n }()
		for ; ; n++ {
			select {
			case <-stop.ch:
				return
			case <-time.After(500 * time.Millisecond):
			}
			if _, err := talker.Write(fmt.Appendf(nil, "talker %d\n", n)); err != nil {
				return
			}
		}
	}()
	go drain(talker)
	// What the dribbler reads: the talker's lines, then (once closed) the
	// first other frame, and how its stream ended.
	type ending struct {
		msg string
		err error
	}
	msg := make(chan ending, 1)
	go func() {
		var e ending
		r := newFrameReader(dribbler, f, 1<<16)
		for {
			b, err := r.Next()
			if err != nil {
				e.err = err
				break
			}
			if e.msg == "" && !bytes.HasPrefix(b, []byte("talker ")) {
				e.msg = string(b)
			}
		}
		msg <- e
	}()
	start := time.Now()
	sent := 0
	var got ending
dribble:
	for ; sent < bytesMax; sent++ {
		if _, err := dribbler.Write([]byte{'z'}); err != nil {
			break
		}
		select {
		case got = <-msg:
			break dribble
		case <-time.After(every):
		}
	}
	closedAfter := time.Since(start)
	stop.stop()
	n := <-talked
	if sent == bytesMax {
		t.Fatalf("the dribbler still had its connection after %d bytes of one frame in %v (-idle-timeout %v)", sent, closedAfter.Round(time.Millisecond), idleTimeout)
	}
	reason := p.closedReason(dribbler.LocalAddr().String())
	v := p.vars()
	t.Logf("dribbler closed after %d bytes, %v, with %q and %v, reason %s; the talker sent %d lines; server closed %v",
		sent+1, closedAfter.Round(time.Millisecond), got.msg, got.err, reason, n, v.Closed)
	if !strings.HasPrefix(got.msg, "error: idle") {
		t.Errorf("the dribbler was sent %q before the close, want an error starting %q", got.msg, "error: idle")
	}
	if got.err != io.EOF {
		t.Errorf("the dribbler's stream ended with %v, want the end of stream", got.err)
	}
	if reason != "idle" {
		t.Errorf("the dribbler was closed for %s, want idle", reason)
	}
	if v.ClosedTotal != 1 || v.Members != 1 {
		t.Errorf("server closed %v and has %d members; want only the dribbler closed", v.Closed, v.Members)
	}
}
