//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package echo

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mobsim/mobsim/netpoll"
)

// Goal: the same server runs live on the real kernel: every client gets
// back exactly what it sent and a clean end of stream after its FIN, with
// small socket buffers on both sides so that reads and writes are cut
// short and meet would-block. Method: the server on netpoll in one
// goroutine (stopped with a flag and Wake), 8 loopback clients writing
// 256 KiB each in random pieces while they read.
func TestEchoLive(t *testing.T) {
	const clients, sendBytes, timeout = 8, 256 << 10, 20 * time.Second
	poller, err := netpoll.New()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := netpoll.Listen("tcp", "127.0.0.1:0", netpoll.ListenConfig{RecvBufBytes: 4096, SendBufBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(poller, ln, Options{ReadBufferBytes: 1500, PendingBytesMax: 8192})
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	served := make(chan error, 1)
	go func() {
		for !stop.Load() {
			if err := srv.Tick(-1); err != nil {
				served <- err
				return
			}
		}
		served <- nil
	}()

	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 0))
			data := make([]byte, sendBytes)
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
			c, err := net.DialTimeout("tcp", ln.Addr().String(), timeout)
			if err != nil {
				t.Errorf("client %d: dial: %v", i, err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(timeout))
			wrote := make(chan struct{})
			defer func() { <-wrote }()
			go func() {
				defer close(wrote)
				for rest := data; len(rest) > 0; {
					n := min(len(rest), 1+rng.IntN(16<<10))
					if _, err := c.Write(rest[:n]); err != nil {
						t.Errorf("client %d: write: %v", i, err)
						return
					}
					rest = rest[n:]
				}
				c.(*net.TCPConn).CloseWrite()
			}()
			got, err := io.ReadAll(c)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("client %d: got %d bytes back (%v), equal to what it sent: %v; want all %d and the end of stream",
					i, len(got), err, bytes.Equal(got, data), len(data))
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	if err := poller.Wake(); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Tick: %v", err)
	}
	if n := srv.Conns(); n != 0 {
		t.Errorf("%d connections still open after every client left", n)
	}
	ln.Close()
	poller.Close()
}
