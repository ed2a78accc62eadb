package e2e

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

// Goal: what a user of the binary sees from start to SIGTERM, in both
// framings. It logs the address it bound (port 0) and relays frames
// between plain TCP clients as two nc sessions would; its /debug/vars
// counts them. SIGTERM while clients chat then delivers every frame the
// server read before it to every connected client within the shutdown
// deadline, ends each stream cleanly at a frame boundary, and the process
// exits with status 0.
//
// Method: four clients of the child server. First two of them exchange a
// frame each, which all four must read back in order, and /debug/vars must
// count 2 frames in. Then all four send frames with random short pauses and
// read, except that client 0 reads nothing until the signal; its SO_RCVBUF
// (64 KiB) and the server's send buffers (-send-buf-bytes 4096) are small,
// so the server holds a backlog for it that the shutdown must flush. Once
// the server has read 4000 frames the test sends SIGTERM. Each client reads
// to the end of stream, then stops writing and sends its FIN. The server's
// final log line gives how many frames it read (N) and delivered, and its
// close reasons. Every client must hold the same N frames, each sender's a
// prefix of what it sent, in order; the server must have delivered N to
// each; and every connection must be closed for reason shutdown (flushed),
// none for shutdown-timeout.
//
// (A slow reader with a tiny SO_RCVBUF would make a backlog more simply,
// but Linux then may advertise a window below the MSS it clamped for the
// peer, and the server's sends trickle out on persist-timer probes, about
// 2 KB per 200 ms: seen as a linger timeout. 64 KiB keeps the window above
// one segment.)
func TestSIGTERMWhileChatting(t *testing.T) {
	framings(t, func(t *testing.T, f server.Framing) {
		const clients, perClient, extraMax, readBeforeSignal = 4, 20000, 200, 4000
		seed := testSeed(t)
		p := startMob(t, false, "-framing", f.String(), "-shutdown-timeout", "5s", "-send-buf-bytes", "4096")
		conns := []*net.TCPConn{dial(t, p.addr, sockOpts{rcvBuf: 64 << 10})}
		conns = append(conns, dialMembers(t, p, clients-1, clients)...)
		readers := make([]*frameReader, clients)
		for i, c := range conns {
			readers[i] = newFrameReader(c, f, 1<<16)
		}

		// Two clients say hello; everyone hears both, in order.
		hello := [][]byte{[]byte("hello from client 1"), []byte("hi from client 2")}
		for i, b := range hello {
			if _, err := conns[1+i].Write(f.Encode(nil, b)); err != nil {
				t.Fatalf("client %d: write: %v", 1+i, err)
			}
			for j, r := range readers {
				if got, err := r.Next(); err != nil || string(got) != string(b) {
					t.Fatalf("client %d read %q, %v; want %q", j, got, err, b)
				}
			}
		}
		p.waitVars("2 frames in", func(v mobVars) bool { return v.FramesIn == 2 })

		sent := make([][][]byte, clients)
		wrote := make([]int, clients)
		got := make([]received, clients)
		resume := make(chan struct{}) // client 0 starts reading
		resumeOnce := sync.OnceFunc(func() { close(resume) })
		defer resumeOnce()
		var wg sync.WaitGroup
		for i, c := range conns {
			sent[i] = makeFrames(rand.New(rand.NewPCG(seed, uint64(i))), f, i, perClient, extraMax)
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
						time.Sleep(time.Duration(rng.IntN(500)) * time.Microsecond)
					}
				}()
				if i == 0 {
					<-resume
				}
				got[i] = readers[i].readFrames(-1, nil)
				close(stop)
				<-writerDone
				if err := c.CloseWrite(); err != nil {
					t.Errorf("client %d: close write: %v", i, err)
				}
			}()
		}
		v := p.waitVars(fmt.Sprint(readBeforeSignal, " frames read"), func(v mobVars) bool { return v.FramesIn >= readBeforeSignal })
		t.Logf("before SIGTERM: %d frames read, %d bytes queued, largest backlog %d bytes", v.FramesIn, v.QueuedBytes, v.QueuedBytesHi)
		go func() {
			time.Sleep(10 * time.Millisecond) // let the signal land first
			resumeOnce()
		}()
		took, err := p.sigterm()
		wg.Wait()
		if err != nil {
			t.Errorf("exit after SIGTERM: %v, want status 0", err)
		}
		stopped := p.waitLog(regexp.MustCompile(`msg=stopped .*frames_in=(\d+) frames_out=(\d+) .*`))
		t.Logf("exited %v after SIGTERM; the clients wrote %v frames; final counters: %s", took.Round(time.Millisecond), wrote, stopped[0])
		n, _ := strconv.Atoi(stopped[1])
		out, _ := strconv.Atoi(stopped[2])
		if out != clients*n {
			t.Errorf("the server delivered %d frames for %d read, want %d to each of %d clients", out, n, n, clients)
		}
		if !regexp.MustCompile(`\bclosed\.shutdown=` + strconv.Itoa(clients) + `\b`).MatchString(stopped[0]) {
			t.Errorf("final counters lack closed.shutdown=%d", clients)
		}
		if regexp.MustCompile(`closed\.shutdown-timeout=`).MatchString(stopped[0]) {
			t.Errorf("some connection was closed at the shutdown deadline before it was flushed")
		}

		seqs := make([][][]byte, clients)
		for i, g := range got {
			if g.err != io.EOF {
				t.Errorf("client %d: stream ended with %v (partial %d bytes), want a clean end", i, g.err, len(g.partial))
			}
			if len(g.frames)+len(hello) != n {
				t.Errorf("client %d received %d frames after the hellos; the server read %d with them", i, len(g.frames), n)
			}
			checkOrder(t, fmt.Sprint("client ", i), g.frames, sent, false)
			seqs[i] = g.frames
		}
		checkSame(t, "client", seqs)
	})
}
