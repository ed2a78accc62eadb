package netrec_test

import (
	"bytes"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netpoll"
	"github.com/mobsim/mobsim/netrec"
	"github.com/mobsim/mobsim/server"
)

// BenchmarkLoopbackFanout measures what recording costs the live server on
// real sockets: the CPU time of the server's own thread (getrusage
// RUSAGE_THREAD, so the clients' work is not counted) per delivery, bare,
// recorded with contents, with digests and with counts, to a file. Each
// iteration is one run: loopbackMembers clients, loopbackSenders of them
// sending loopbackFrames 64-byte frames each, all reading everything. Each
// recording is then replayed from its file against a fresh core: records
// per second, and the live run's wall time over the replay's.
func BenchmarkLoopbackFanout(b *testing.B) {
	for _, mode := range []string{"bare", "contents", "digests", "counts"} {
		b.Run(mode, func(b *testing.B) {
			var cpu, liveWall, replayWall time.Duration
			var deliveries, logBytes, records uint64
			for b.Loop() {
				r := loopbackFanout(b, mode)
				cpu += r.cpu
				deliveries += r.deliveries
				logBytes += r.logBytes
				liveWall += r.wall
				if r.path != "" {
					b.StopTimer()
					start := time.Now()
					records += replayFile(b, r.path)
					replayWall += time.Since(start)
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(deliveries), "server-cpu-ns/delivery")
			if logBytes > 0 {
				b.ReportMetric(float64(logBytes)/float64(deliveries), "logB/delivery")
				b.ReportMetric(float64(records)/replayWall.Seconds(), "replay-records/s")
				b.ReportMetric(liveWall.Seconds()/replayWall.Seconds(), "live/replay-wall")
			}
		})
	}
}

// replayFile replays a loopback fan-out recording and returns its records.
func replayFile(b *testing.B, path string) uint64 {
	rp, err := netrec.Open(path, netrec.ReplayOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer rp.Close()
	ln, err := rp.Listener()
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(rp, ln, loopbackFanoutConfig())
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Run(rp.Stop); err != nil {
		b.Fatal(err)
	}
	sum, err := rp.Finish()
	if err != nil {
		b.Fatal(err)
	}
	return sum.Steps
}

func loopbackFanoutConfig() server.Config {
	cfg := server.DefaultConfig()
	cfg.Framing = server.FramingLine
	return cfg
}

type fanoutRun struct {
	cpu, wall  time.Duration
	deliveries uint64
	logBytes   uint64
	path       string // the recording, if any
}

const (
	loopbackMembers = 50
	loopbackSenders = 5
	loopbackFrames  = 2000
)

// loopbackFanout runs one fan-out on loopback and returns the server
// thread's CPU time, the deliveries, and the recording.
func loopbackFanout(b *testing.B, mode string) fanoutRun {
	began := time.Now()
	poller, err := netpoll.New()
	if err != nil {
		b.Fatal(err)
	}
	defer poller.Close()
	nln, err := netpoll.Listen("tcp", "127.0.0.1:0", netpoll.ListenConfig{})
	if err != nil {
		b.Fatal(err)
	}
	var kp kernel.Poller = poller
	var ln kernel.Listener = nln
	var rec *netrec.Recorder
	var run fanoutRun
	if mode != "bare" {
		run.path = filepath.Join(b.TempDir(), "fanout.rec")
		rec, err = netrec.Create(run.path, poller, netrec.Options{Writes: benchMode(mode), DigestEvery: benchDigestEvery})
		if err != nil {
			b.Fatal(err)
		}
		kp, ln = rec, rec.Listener(nln)
	}
	srv, err := server.New(kp, ln, loopbackFanoutConfig())
	if err != nil {
		b.Fatal(err)
	}
	var stop atomic.Bool
	stopFn := stop.Load
	if rec != nil {
		stopFn = rec.Stop(stop.Load)
	}
	type result struct {
		cpu time.Duration
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		start := threadCPU()
		err := srv.Run(stopFn)
		done <- result{threadCPU() - start, err}
	}()

	frame := append(bytes.Repeat([]byte("f"), 63), '\n')
	want := int64(loopbackSenders * loopbackFrames * len(frame))
	// Every member must have joined before anyone sends, or it misses
	// frames: each sends a hello and reads it back before the next one
	// connects, so client i receives the hellos of clients i and later.
	conns := make([]net.Conn, loopbackMembers)
	for i := range conns {
		c, err := net.Dial("tcp", nln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(time.Minute))
		c.Write(frame)
		if _, err := io.CopyN(io.Discard, c, int64(len(frame))); err != nil {
			b.Fatal(err)
		}
		conns[i] = c
	}
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			if _, err := io.CopyN(io.Discard, c, int64(loopbackMembers-i-1)*int64(len(frame))+want); err != nil {
				b.Error(err)
			}
		})
	}
	batch := bytes.Repeat(frame, 50)
	for _, c := range conns[:loopbackSenders] {
		wg.Go(func() {
			for range loopbackFrames / 50 {
				if _, err := c.Write(batch); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, c := range conns {
		c.Close()
	}
	stop.Store(true)
	poller.Wake()
	r := <-done
	if r.err != nil {
		b.Fatal(r.err)
	}
	run.wall = time.Since(began)
	if rec != nil {
		if err := rec.Close(); err != nil {
			b.Fatal(err)
		}
		run.logBytes = uint64(rec.Stats().Bytes)
	}
	run.cpu, run.deliveries = r.cpu, srv.Stats().FramesOut
	return run
}

// threadCPU is the calling thread's user and system CPU time.
func threadCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
