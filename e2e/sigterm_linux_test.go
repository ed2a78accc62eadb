package e2e

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
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
// to the end of stream, then stops writing and sends its FIN (its writes
// after the signal may meet the server's reset: the server closes as soon
// as the client's kernel has acknowledged everything, and a client still
// writing then gets ECONNRESET or EPIPE; that costs it nothing it was
// owed). The server's
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
		var signalled atomic.Bool
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
							// Once the server has written a client everything
							// and its FIN, and the client's kernel has
							// acknowledged it, the server closes; a client still
							// writing then meets the reset. Before the signal a
							// write must not fail.
							if !signalled.Load() {
								t.Errorf("client %d: write before SIGTERM: %v", i, err)
							}
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
				c.CloseWrite() // may find the server's reset (see above)
			}()
		}
		v := p.waitVars(fmt.Sprint(readBeforeSignal, " frames read"), func(v mobVars) bool { return v.FramesIn >= readBeforeSignal })
		signalled.Store(true)
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

// Goal: SIGTERM keeps the promise to a member that reads slowly and keeps
// chatting (issue 11, break 1): it receives every frame the server accepted
// before the signal, however much it sends while the server flushes it,
// and its stream ends cleanly at a frame boundary. The server cannot stop
// it sending (its FIN comes only after the flush), so cutting it for what
// it sends while it is still owed output breaks the promise.
//
// Method: an ordinary client with a 4 KiB SO_RCVBUF reads at most 4 KiB
// per read and 200 KiB/s, and sends two 1,000-byte frames after every read
// (about 100 frames/s); beside it two senders send 1,000-byte frames at
// 150 KB/s each and five readers read flat out. Everyone is a member and
// reads until the end of stream, then stops sending and closes. Once the
// slow client is 256 KiB behind the last reader (the bytes wait in the
// server's queue and in the kernels' socket buffers), the test sends
// SIGTERM. The server's final counters give N, the frames it
// read; every client must hold exactly those N frames in one order, end
// with io.EOF, and be closed for reason shutdown. The slow client's
// sending is tied to its reading (two frames per read), so whatever the
// machine's speed it sends about 120 KB while it drains its 256 KiB: more
// than -linger-bytes-max (64 KiB), which cut it on the old server. The
// shutdown deadline is 15 s, ten times what the drain takes on an idle
// machine, so a loaded machine only makes the test slower.
func TestSIGTERMChattySlowReader(t *testing.T) {
	framings(t, func(t *testing.T, f server.Framing) {
		const senders, readers, frameBytes, backlogBytes = 2, 5, 1000, 256 << 10
		seed := testSeed(t)
		p := startMob(t, false, "-framing", f.String(), "-shutdown-timeout", "15s")
		slow := dial(t, p.addr, sockOpts{rcvBuf: 4096})
		conns := append([]*net.TCPConn{slow}, dialMembers(t, p, senders+readers, 1+senders+readers)...)

		// Client 0 is the slow chatty one, 1 and 2 the senders, then readers.
		sent := make([][][]byte, 1+senders)
		for i := range sent {
			sent[i] = sizedFrames(makeFrames(rand.New(rand.NewPCG(seed, uint64(i))), f, i, 5000, 0), frameBytes)
		}
		chatAsk := make(chan struct{}, 1<<16)
		got := make([]received, len(conns))
		counts := make([]atomic.Int64, len(conns)) // frames each has read
		chatWrote := make([]int, 2)                // the slow client's frames before and after SIGTERM
		var signalled atomic.Bool
		var wg sync.WaitGroup
		for i, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				stop := newStop()
				var done <-chan struct{}
				var src io.Reader = c
				switch {
				case i == 0:
					src = newRateReader(c, 200<<10, 4096, func(int) {
						select {
						case chatAsk <- struct{}{}:
						default:
						}
					})
					ch := make(chan struct{})
					done = ch
					go func() {
						defer close(ch)
						for k := 0; k+1 < len(sent[0]); k += 2 {
							select {
							case <-stop.ch:
								return
							case <-chatAsk:
							}
							if _, err := c.Write(encodeAll(f, sent[0][k:k+2])); err != nil {
								return // the server closed it; its reads say whether it lost anything
							}
							chatWrote[btoi(signalled.Load())] += 2
						}
					}()
				case i <= senders:
					done = sendAtRate(c, f, sent[i], 150_000, stop.ch).done
				}
				got[i] = newFrameReader(src, f, 1<<16).readFrames(-1, func([]byte) bool {
					counts[i].Add(1)
					return true
				})
				stop.stop()
				if done != nil {
					<-done
				}
				c.CloseWrite()
			}()
		}
		// The slow client's backlog is what the last reader has and it has
		// not: in the server's queue and in both kernels' buffers.
		for deadline := time.Now().Add(testTimeout); counts[len(conns)-1].Load()-counts[0].Load() < backlogBytes/frameBytes; {
			if time.Now().After(deadline) {
				t.Fatalf("the slow client did not fall %d bytes behind within %v", backlogBytes, testTimeout)
			}
			time.Sleep(time.Millisecond)
		}
		v := p.vars()
		t.Logf("before SIGTERM: %d frames read, the slow client %d frames behind, %d bytes of them queued in the server",
			v.FramesIn, counts[len(conns)-1].Load()-counts[0].Load(), v.QueuedBytes)
		signalled.Store(true)
		took, err := p.sigterm()
		wg.Wait()
		if err != nil {
			t.Errorf("exit after SIGTERM: %v, want status 0", err)
		}
		stopped := p.waitLog(regexp.MustCompile(`msg=stopped .*frames_in=(\d+) .*`))
		n, _ := strconv.Atoi(stopped[1])
		reason := p.closedReason(slow.LocalAddr().String())
		t.Logf("exited %v after SIGTERM; the slow client sent %d frames before it and %d after, received %d of %d, closed %s; final counters: %s",
			took.Round(time.Millisecond), chatWrote[0], chatWrote[1], len(got[0].frames), n, reason, stopped[0])
		if reason != "shutdown" {
			t.Errorf("the slow client was closed for %s, want shutdown (it read on until the end)", reason)
		}
		if !regexp.MustCompile(`\bclosed\.shutdown=` + strconv.Itoa(len(conns)) + `\b`).MatchString(stopped[0]) {
			t.Errorf("final counters lack closed.shutdown=%d", len(conns))
		}
		seqs := make([][][]byte, len(conns))
		for i, g := range got {
			if g.err != io.EOF {
				t.Errorf("client %d: stream ended with %v after %d frames (partial %d bytes), want a clean end", i, g.err, len(g.frames), len(g.partial))
			}
			if len(g.frames) != n {
				t.Errorf("client %d received %d frames; the server accepted %d", i, len(g.frames), n)
			}
			checkOrder(t, fmt.Sprint("client ", i), g.frames, sent, false)
			seqs[i] = g.frames
		}
		checkSame(t, "client", seqs)
	})
}

// sizedFrames pads (or cuts) every frame to exactly size bytes, keeping
// its tag.
func sizedFrames(frames [][]byte, size int) [][]byte {
	for i, b := range frames {
		frames[i] = append(b, bytes.Repeat([]byte{'.'}, max(size-len(b), 0))...)[:size]
	}
	return frames
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Goal: SIGTERM with idle clients connected that read but never send their
// FIN (nc does not until its input ends) exits as soon as they have
// everything, not at a deadline. Once a client has acknowledged every byte
// and the server's FIN, closing cannot cost it anything, so waiting for
// its FIN until -linger-timeout (5 s by default, the exit time before)
// only delays the exit.
//
// Method: five clients join, one frame goes round, and all five read on
// without sending. The server runs with -linger-timeout and
// -shutdown-timeout of 15 s; SIGTERM must make it exit with status 0 in
// under half of that (on an idle machine it takes milliseconds; the bound
// only tells "did not wait for a deadline" from "did"), each client must
// read the end of stream, and each must be closed for reason shutdown.
func TestSIGTERMIdleClients(t *testing.T) {
	const clients, deadline = 5, 15 * time.Second
	f := server.FramingLine
	p := startMob(t, false, "-linger-timeout", deadline.String(), "-shutdown-timeout", deadline.String())
	conns := dialMembers(t, p, clients, clients)
	readers := make([]*frameReader, clients)
	for i, c := range conns {
		readers[i] = newFrameReader(c, f, 1<<16)
	}
	if _, err := conns[0].Write([]byte("anyone here?\n")); err != nil {
		t.Fatal(err)
	}
	expectFrames(t, "the greeting", readers, []byte("anyone here?"))
	ends := make(chan error, clients)
	for _, r := range readers {
		go func() { ends <- r.readFrames(-1, nil).err }()
	}
	took, err := p.sigterm()
	if err != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0", err)
	}
	for range clients {
		if err := <-ends; err != io.EOF {
			t.Errorf("a client's stream ended with %v, want the end of stream", err)
		}
	}
	stopped := p.waitLog(regexp.MustCompile(`msg=stopped .*`))
	t.Logf("exited %v after SIGTERM with %d idle clients; %s", took.Round(time.Millisecond), clients, stopped[0])
	if took > deadline/2 {
		t.Errorf("exit took %v after SIGTERM with idle clients, want well under the %v deadline", took.Round(time.Millisecond), deadline)
	}
	if !regexp.MustCompile(`\bclosed\.shutdown=` + strconv.Itoa(clients) + `\b`).MatchString(stopped[0]) {
		t.Errorf("final counters lack closed.shutdown=%d", clients)
	}
}
