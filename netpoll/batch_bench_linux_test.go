package netpoll_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netpoll"
	"golang.org/x/sys/unix"
)

// One batch of K 64-byte writes to K loopback connections per op (the
// server's fan-out of one frame to K members), through io_uring and
// through the writev loop. Reported beside ns/op: ns/write; cpu-ns/write,
// the CPU time (user and system) of the benchmark's thread per write, which
// a busy machine inflates less than the wall clock; the system calls per
// batch (BatchStats); and drains/op, how often a write came back short or
// would-block and the peers were drained (timer stopped, CPU time left
// out) before the next batch.
func BenchmarkWriteBatch(b *testing.B) {
	for _, k := range []int{1, 16, 256, 1000} {
		for _, m := range batchModes {
			b.Run(fmt.Sprintf("K=%d/%s", k, m.name), func(b *testing.B) {
				benchWriteBatch(b, k, m.cfg, m.want)
			})
		}
	}
}

func benchWriteBatch(b *testing.B, k int, cfg netpoll.Config, want netpoll.BatchPath) {
	p := newBatchPoller(b, cfg, want)
	frame := make([]byte, 64)
	peers := make([]*netpoll.Conn, k)
	ws := make([]kernel.BatchWrite, k)
	for i := range ws {
		client, srv := benchPair(b)
		b.Cleanup(func() { client.Abort(); srv.Abort() }) // RST: no TIME_WAIT left behind
		peers[i] = client
		ws[i] = write1(srv, frame)
	}
	rbuf := make([]byte, 256<<10)
	runtime.LockOSThread() // so that the thread's CPU time is the loop's
	defer runtime.UnlockOSThread()
	before := p.BatchStats()
	ops, drains := 0, 0
	var drainCPU time.Duration
	cpu0 := threadCPU(b)
	b.ReportAllocs()
	for b.Loop() {
		p.WriteBatch(ws)
		ops++
		for i := range ws {
			if ws[i].Err != nil || ws[i].N != len(frame) {
				if ws[i].Err != nil && ws[i].Err != kernel.ErrWouldBlock {
					b.Fatalf("write %d: %v", i, ws[i].Err)
				}
				b.StopTimer()
				d0 := threadCPU(b)
				for _, c := range peers {
					drainAll(b, c, rbuf)
				}
				drains++
				drainCPU += threadCPU(b) - d0
				b.StartTimer()
				break
			}
		}
	}
	cpu := threadCPU(b) - cpu0 - drainCPU
	st := p.BatchStats()
	b.ReportMetric(float64(st.Syscalls-before.Syscalls)/float64(ops), "syscalls/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(ops*k), "ns/write")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(ops*k), "cpu-ns/write")
	b.ReportMetric(float64(drains)/float64(ops), "drains/op")
}

// threadCPU is the calling thread's CPU time, user and system.
func threadCPU(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The fan-out of one frame to 1,000 connections through io_uring with
// rings of different sizes: one io_uring_enter per RingEntries writes.
func BenchmarkWriteBatchRingEntries(b *testing.B) {
	for _, n := range []int{32, 128, 256, 1024} {
		b.Run(fmt.Sprintf("K=1000/entries=%d", n), func(b *testing.B) {
			benchWriteBatch(b, 1000, netpoll.Config{RingEntries: n}, netpoll.BatchIOUring)
		})
	}
}
