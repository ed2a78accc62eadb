package e2e

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mobsim/mobsim/internal/child"
	"github.com/mobsim/mobsim/server"
)

// Goal: buffered input is bounded as a whole at default flags (issue 11,
// break 2): 9,998 connections (the default -conns-max less two bystanders)
// that each send one frame just under -frame-bytes-max and never finish it
// do not grow the server past about 160 MB of RSS, and bystanders chatting
// meanwhile lose nothing and are still served while the attackers hold
// what they hold. Before the budget the server kept every partial frame
// (110 KB each, from append's growth past the 64 KiB cap): 1.1 GB.
//
// Method: in each framing the child server runs with default flags and the
// descriptor limit raised to the hard one (20,000 here; the test needs
// about 10,000 in each process). Two bystanders chat while the attackers
// connect, 32 at a time, each sending a frame of 65,535 bytes but for its
// end (mob: the header, then all but one byte of the body; line: the body
// without its newline), then nothing. The attack is over once the
// server has accepted every attacker and read nothing for 500 ms (on a
// loaded machine that comes later, never sooner: only a pause of 500 ms in
// the middle of the attack could end it early, which would let a broken
// server pass, never fail a good one). VmRSS is sampled every 2 ms
// throughout; its peak must stay under 160 MB. The bystanders then chat
// again, with the attackers still connected, and must receive every frame
// of both rounds. The whole test takes about 6 s per framing on an idle
// 2-core machine; the attackers close with an RST, leaving no TIME_WAIT.
func TestPartialFrameFlood(t *testing.T) {
	framings(t, testPartialFrameFlood)
}

func testPartialFrameFlood(t *testing.T, f server.Framing) {
	const attackers, rssMax, bodyBytes = 9998, 160e6, 65535
	seed := testSeed(t)
	if _, err := child.RaiseNOFILE(); err != nil {
		t.Fatal(err)
	}
	p := startMob(t, false, "-framing", f.String())
	bystanders := dialMembers(t, p, 2, 2)
	rssBefore, _ := p.memory()
	sampler := sampleMemory(p.Pid())
	g := startChat(t, f, seed, bystanders, 1000, 200, 2*time.Millisecond, nil)

	start := time.Now()
	failed := partialAttack(t, p, f, attackers, bodyBytes)
	connected := time.Since(start)
	p.waitVars(fmt.Sprint(attackers+2, " accepted"), func(v mobVars) bool { return v.Accepted >= uint64(attackers+2) })
	v := p.waitStill(func(v mobVars) uint64 { return v.BytesIn })
	rssAttack, _ := p.memory()
	order := g.wait()

	g = startChat(t, f, seed+1, bystanders, 100, 200, time.Millisecond, nil)
	after := g.wait()
	peak := sampler.Stop()
	v = p.vars()
	t.Logf("%d attackers connected in %v (%d dial or write failures); server read %.1f MB, held at most %.1f MB of unfinished frames, closed %v, %d conns open",
		attackers, connected.Round(time.Millisecond), failed, float64(v.BytesIn)/1e6, float64(v.InputBytesHi)/1e6, v.Closed, v.Conns)
	t.Logf("server VmRSS: before %.1f MB, after the attack %.1f MB, peak %.1f MB (limit %.0f MB); bystanders' rounds: %d and %d frames",
		float64(rssBefore)/1e6, float64(rssAttack)/1e6, float64(peak)/1e6, rssMax/1e6, len(order), len(after))
	if peak > rssMax {
		t.Errorf("server peak VmRSS %.1f MB with %d partial frames, want under %.0f MB", float64(peak)/1e6, attackers, rssMax/1e6)
	}
	if len(order) != 2000 || len(after) != 200 {
		t.Errorf("bystanders' rounds hold %d and %d frames, want 2000 and 200", len(order), len(after))
	}
	if v.Members < 2 {
		t.Errorf("%d members left; the bystanders must still be members", v.Members)
	}
}

// partialAttack connects n attackers to p, 32 at a time, each sending a
// frame of bodyBytes but for its end, and returns how many dials or writes
// failed. Cleanup resets them all (no TIME_WAIT left for the next test).
func partialAttack(tb testing.TB, p *mobProc, f server.Framing, n, bodyBytes int) int64 {
	tb.Helper()
	frame := bytes.Repeat([]byte{'x'}, bodyBytes) // line: no newline
	if f == server.FramingMob {
		frame = append(binary.BigEndian.AppendUint64(nil, uint64(bodyBytes)), frame[:bodyBytes-1]...)
	}
	conns := make([]*net.TCPConn, n)
	var failed, next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				c, err := dialErr(p.addr, sockOpts{})
				if err != nil {
					failed.Add(1)
					continue
				}
				conns[i] = c
				if _, err := c.Write(frame); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	tb.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.SetLinger(0)
				c.Close()
			}
		}
	})
	return failed.Load()
}

// BenchmarkPartialFrameFloodRSS measures the live server's peak RSS under
// TestPartialFrameFlood's attack (9,998 connections, each all of a 65,535
// byte frame but its end) for several -input-bytes-max: the figures
// InputBytesMaxDefault was chosen from. The Go heap holds the budget plus
// the garbage of evicted buffers until a collection, so the peak is about
// twice the budget plus a base. Run it with
//
//	go test ./e2e -run '^$' -bench PartialFrameFloodRSS -benchtime 1x
func BenchmarkPartialFrameFloodRSS(b *testing.B) {
	if _, err := child.RaiseNOFILE(); err != nil {
		b.Fatal(err)
	}
	for _, f := range []server.Framing{server.FramingMob, server.FramingLine} {
		for _, budget := range []int{8 << 20, 16 << 20, 32 << 20, 48 << 20, 64 << 20} {
			b.Run(fmt.Sprintf("%v/input-bytes-max=%dMiB", f, budget>>20), func(b *testing.B) {
				for range b.N {
					p := startMob(b, false, "-framing", f.String(), "-input-bytes-max", fmt.Sprint(budget))
					sampler := sampleMemory(p.Pid())
					partialAttack(b, p, f, 9998, 65535)
					p.waitVars("9,998 accepted", func(v mobVars) bool { return v.Accepted >= 9998 })
					v := p.waitStill(func(v mobVars) uint64 { return v.BytesIn })
					b.ReportMetric(float64(sampler.Stop())/1e6, "peak-RSS-MB")
					b.ReportMetric(float64(v.Closed["input-budget"]), "evictions")
					p.Kill()
				}
			})
		}
	}
}
