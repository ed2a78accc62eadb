//go:build linux

package livetest

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mobsim/mobsim/server"
)

// Goal: SIGTERM while clients chat delivers every frame the server read
// before it to every connected client within the shutdown deadline, ends
// each stream cleanly at a frame boundary, and exits with status 0.
// Method: four clients of the child server send frames with random short
// pauses and read, except that client 0 reads nothing until the signal;
// its SO_RCVBUF (64 KiB) and the server's send buffers (-send-buf-bytes
// 4096) are small, so the server holds a backlog for it that the shutdown
// must flush. Once the
// server has read 4000 frames the test sends SIGTERM. Each client reads to
// the end of stream, then stops writing and closes. The server's final log line gives how many frames it read (N)
// and its close reasons. Every client must hold the same N frames, each
// sender's a prefix of what it sent in order, and every connection must be
// closed for reason shutdown (flushed), none for shutdown-timeout.
func TestSIGTERMWhileChatting(t *testing.T) {
	const clients, perClient = 4, 20000
	f := server.FramingLine
	seed := testSeed(t)
	p := startMob(t, false, "-shutdown-timeout", "5s", "-send-buf-bytes", "4096")
	conns := []*net.TCPConn{dial(t, p.addr, sockOpts{rcvBuf: 64 << 10})}
	conns = append(conns, dialMembers(t, p, clients-1, clients)...)
	sent := make([][][]byte, clients)
	wrote := make([]int, clients)
	got := make([]received, clients)
	resume := make(chan struct{}) // client 0 starts reading
	resumeOnce := sync.OnceFunc(func() { close(resume) })
	defer resumeOnce()
	var wg sync.WaitGroup
	for i, c := range conns {
		sent[i] = makeFrames(rand.New(rand.NewPCG(seed, uint64(i))), f, i, perClient, 200)
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
					if _, err := c.Write(f.Encode(nil, b)); err != nil {
						t.Errorf("client %d: write: %v", i, err)
						return
					}
					wrote[i]++
					time.Sleep(time.Duration(rng.IntN(500)) * time.Microsecond)
				}
			}()
			if i == 0 {
				<-resume
			}
			got[i] = newFrameReader(c, f, 1<<16).readFrames(-1, nil)
			close(stop)
			<-writerDone
			c.Close()
		}()
	}
	v := p.waitVars("4000 frames read", func(v mobVars) bool { return v.FramesIn >= 4000 })
	t.Logf("before SIGTERM: %d frames read, largest backlog %d bytes", v.FramesIn, v.QueuedBytesHi)
	go func() {
		time.Sleep(10 * time.Millisecond) // let the signal land first
		resumeOnce()
	}()
	took, err := p.sigterm()
	wg.Wait()
	if err != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0", err)
	}
	stopped := p.waitLog(regexp.MustCompile(`msg=stopped .*frames_in=(\d+) .*`))
	t.Logf("exited %v after SIGTERM; final counters: %s", took.Round(time.Millisecond), stopped[0])
	n, _ := strconv.Atoi(stopped[1])
	for _, want := range []string{fmt.Sprintf("closed.shutdown=%d", clients)} {
		if !regexp.MustCompile(`\b` + regexp.QuoteMeta(want) + `\b`).MatchString(stopped[0]) {
			t.Errorf("final counters lack %s", want)
		}
	}
	if regexp.MustCompile(`closed\.shutdown-timeout=`).MatchString(stopped[0]) {
		t.Errorf("some connection was closed at the shutdown deadline before it was flushed")
	}

	index := map[string]origin{}
	for c, frames := range sent {
		for j, b := range frames {
			index[string(b)] = origin{c, j}
		}
	}
	for i, g := range got {
		if g.err != io.EOF {
			t.Errorf("client %d: stream ended with %v (partial %d bytes), want a clean end", i, g.err, len(g.partial))
		}
		if len(g.frames) != n {
			t.Errorf("client %d received %d frames; the server read %d (the clients wrote %v)", i, len(g.frames), n, wrote)
		}
		if i > 0 {
			if d := firstDiff(got[0].frames, g.frames); d >= 0 {
				t.Errorf("client %d's sequence differs from client 0's at frame %d", i, d)
			}
		}
		next := make([]int, clients)
		for j, b := range g.frames {
			o, ok := index[string(b)]
			if !ok || o.seq != next[o.client] {
				t.Errorf("client %d: frame %d (%q...) is out of its sender's order or was never sent", i, j, clip(b))
				break
			}
			next[o.client]++
		}
	}
}
