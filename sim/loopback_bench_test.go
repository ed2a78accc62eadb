//go:build linux

package sim

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mobsim/mobsim/netpoll"
	"github.com/mobsim/mobsim/server"
)

// The standard scenario's workload (8 clients, 200 line frames each, every
// client reading all 1,600 frames) through real loopback sockets against the
// server on netpoll, for comparison with BenchmarkStandardSeed in the same
// run. Paced replays the simulator's schedule in real time (each client
// sends a frame with probability 1/2 per step of StepTime, as the standard
// scenario does); Flat sends everything at once. The simulator's advantage
// is that it does not wait: virtual time costs nothing.
func BenchmarkStandardLoopbackPaced(b *testing.B) { benchLoopback(b, Standard().StepTime) }

// BenchmarkStandardLoopbackFlat is the same workload with no pacing at all.
func BenchmarkStandardLoopbackFlat(b *testing.B) { benchLoopback(b, 0) }

func benchLoopback(b *testing.B, step time.Duration) {
	const clients, frames = 8, 200
	poller, err := netpoll.New()
	if err != nil {
		b.Fatal(err)
	}
	defer poller.Close()
	ln, err := netpoll.Listen("tcp4", "127.0.0.1:0", netpoll.ListenConfig{})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(poller, ln, server.Config{IdleTimeout: -1})
	if err != nil {
		b.Fatal(err)
	}
	var stop atomic.Bool
	done := make(chan error, 1)
	go func() { done <- srv.Run(stop.Load) }()
	defer func() {
		stop.Store(true)
		_ = poller.Wake()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	addr := ln.Addr().String()
	body := "c0.000 padding-padding-padding-padding-padding-padding-pad"

	b.ResetTimer()
	for b.Loop() {
		conns := make([]net.Conn, clients)
		for i := range conns {
			c, err := net.Dial("tcp4", addr)
			if err != nil {
				b.Fatal(err)
			}
			conns[i] = c
		}
		time.Sleep(10 * time.Millisecond) // let all join, so each sees every frame
		var wg sync.WaitGroup
		errs := make(chan error, 2*clients)
		for i, c := range conns {
			wg.Add(2)
			go func() {
				defer wg.Done()
				w := bufio.NewWriter(c)
				rng := rand.New(rand.NewPCG(uint64(i), 1))
				for j := 0; j < frames; {
					if step > 0 {
						time.Sleep(time.Duration(rng.Int64N(int64(step) + 1)))
						if rng.IntN(2) == 0 {
							continue
						}
					}
					fmt.Fprintf(w, "%d.%d %s\n", i, j, body)
					j++
					if step > 0 {
						if err := w.Flush(); err != nil {
							errs <- err
							return
						}
					}
				}
				if err := w.Flush(); err != nil {
					errs <- err
				}
			}()
			go func() {
				defer wg.Done()
				r := bufio.NewReader(c)
				for range clients * frames {
					if _, err := r.ReadSlice('\n'); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		for _, c := range conns {
			c.Close()
		}
	}
}
