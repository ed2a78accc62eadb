package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mobsim/mobsim/internal/procfs"
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
// frame, then a reset (an eviction is abortive). The bystanders send flat
// out within their window, so the input rate is off here (it would only
// make the test slower).
func TestNeverReaderQueueLimit(t *testing.T) {
	const bystanders, perSender, frameBytesMax, window = 3, 300, 64 << 10, 8
	const queueBytesMax = 1 << 20
	f := server.FramingMob
	seed := testSeed(t)
	p := startMob(t, false, "-framing", "mob", "-frame-bytes-max", fmt.Sprint(frameBytesMax),
		"-queue-bytes-max", fmt.Sprint(queueBytesMax), "-send-buf-bytes", "16384", "-input-rate-bytes-per-sec", "0")
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

	// The eviction is abortive (its kernel buffers must not outlive it):
	// the never-reader reads what had reached it, then the reset.
	lz := newFrameReader(lazy, f, frameBytesMax).readFrames(-1, nil)
	t.Logf("the never-reader held %d of %d frames and %d bytes of the next, then %v", len(lz.frames), len(ref), len(lz.partial), lz.err)
	if !errors.Is(lz.err, syscall.ECONNRESET) {
		t.Errorf("never-reader: stream ended with %v, want a reset (the eviction is abortive)", lz.err)
	}
	checkPrefix(t, "never-reader", lz.frames, ref)
	if n := len(lz.frames); n >= len(ref) {
		t.Errorf("never-reader received all %d frames: the queue limit never bit", n)
	} else if next := f.Encode(nil, ref[n]); !bytes.HasPrefix(next, lz.partial) {
		t.Errorf("never-reader: the trailing %d bytes are not the start of frame %d", len(lz.partial), n)
	}
}

// Goal: a connection evicted for queue-limit gives its kernel memory back
// at once (issue 11, break 3). The server drops it because it does not
// read; closed the ordinary way, its socket stays behind as an orphan that
// holds the whole send buffer (up to 4 MB with Linux's autotuning) for as
// long as the kernel keeps probing a zero window, and hundreds of them
// push the system's TCP memory past net.ipv4.tcp_mem's pressure mark,
// where the kernel starts failing good connections too.
//
// Method: with mob framing and default limits, 40 clients that never read
// and 10 that read 512 bytes every 50 ms join beside 3 readers and a
// chatter; the chatter sends frames of up to 64,000 bytes at 4 MB/s
// (reading its own echoes; flat out, it would evict the readers too, issue
// 11 break 4) until the server has evicted all 50 for queue-limit. Right then the test lists the server's sockets toward the
// 50 in /proc/net/tcp: together they must hold 0 bytes in their send
// queues (an abortive close removes the socket at once; an orphan keeps
// its queue, which nobody reads, so the check does not depend on timing).
// The readers and the chatter must stay members and receive every frame
// the chatter sent. /proc/net/sockstat's TCP memory (system-wide, so
// other processes' sockets count too) is logged before and after.
func TestEvictionFreesKernelMemory(t *testing.T) {
	const neverReaders, slowReaders, readers, frameBytesMax = 40, 10, 3, 64000
	f := server.FramingMob
	seed := testSeed(t)
	p := startMob(t, false, "-framing", "mob")
	port, _ := strconv.Atoi(p.addr[strings.LastIndexByte(p.addr, ':')+1:])
	lazy := map[int]bool{} // the evicted clients' ports
	for i := range neverReaders + slowReaders {
		c := dial(t, p.addr, sockOpts{})
		lazy[c.LocalAddr().(*net.TCPAddr).Port] = true
		if i >= neverReaders {
			go drain(newRateReader(c, 512*20, 512, nil))
		}
	}
	good := dialMembers(t, p, 1+readers, neverReaders+slowReaders+1+readers)
	memBefore, _ := procfs.TCPMemPages()

	frames := makeFrames(rand.New(rand.NewPCG(seed, 0)), f, 0, 5000, frameBytesMax-16)
	stop := newStop()
	sender := sendAtRate(good[0], f, frames, 4e6, stop.ch)
	got := make([]received, len(good))
	counts := make([]atomic.Int64, len(good))
	var wg sync.WaitGroup
	for i, c := range good {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = newFrameReader(c, f, frameBytesMax).readFrames(-1, func([]byte) bool {
				// Every frame the sender wrote is read here; the test
				// ends the stream by closing once all have arrived.
				counts[i].Add(1)
				return true
			})
		}()
	}
	v := p.waitVars(fmt.Sprint(neverReaders+slowReaders, " queue-limit evictions"),
		func(v mobVars) bool { return v.Closed["queue-limit"] >= neverReaders+slowReaders })
	socks, err := procfs.TCPSockets()
	if err != nil {
		t.Fatal(err)
	}
	memAfter, _ := procfs.TCPMemPages()
	stop.stop()
	<-sender.done
	left, held := 0, int64(0)
	states := map[int]int{}
	for _, s := range socks {
		if s.LocalPort == port && lazy[s.RemotePort] {
			left++
			held += s.TxQueueBytes
			states[s.State]++
		}
	}
	t.Logf("%d frames sent before all %d were evicted; the server's sockets toward them: %d left (states %v) holding %d bytes unsent or unacknowledged; system TCP memory %d pages before, %d after",
		sender.wrote, neverReaders+slowReaders, left, states, held, memBefore, memAfter)
	if held != 0 {
		t.Errorf("the evicted connections' server sockets still hold %d bytes (%.1f MB per connection): the eviction was not abortive",
			held, float64(held)/float64(neverReaders+slowReaders)/1e6)
	}
	if v.ClosedTotal != neverReaders+slowReaders {
		t.Errorf("server closed %v, want only the %d lazy clients, for queue-limit", v.Closed, neverReaders+slowReaders)
	}
	for i := range good {
		for deadline := time.Now().Add(testTimeout); counts[i].Load() < int64(sender.wrote) && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	for _, c := range good {
		c.SetLinger(0)
		c.Close()
	}
	wg.Wait()
	for i, g := range got {
		if len(g.frames) != sender.wrote {
			t.Errorf("client %d received %d frames, want all %d sent", i, len(g.frames), sender.wrote)
		}
		checkOrder(t, fmt.Sprint("client ", i), g.frames, [][][]byte{frames}, false)
	}
}
