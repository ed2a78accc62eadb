package netrec_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mobsim/mobsim/netpoll"
	"github.com/mobsim/mobsim/netrec"
	"github.com/mobsim/mobsim/server"
)

// loopbackClients is how many clients the live round trip runs, and
// loopbackLines how many lines each sends.
const (
	loopbackClients = 6
	loopbackLines   = 50
)

// The real core on netpoll, recorded to a file while real clients on
// loopback chat through it (one of them resets its connection, one
// half-closes), replays from the file against a fresh core with zero
// divergence, twice with the same trace, and ends with the live core's
// counters. Nothing of the live run but the recording reaches the replay.
func TestRoundTripLoopback(t *testing.T) {
	for _, mode := range []netrec.WriteMode{netrec.WriteContents, netrec.WriteDigests, netrec.WriteCounts} {
		t.Run(mode.String(), func(t *testing.T) { roundTripLoopback(t, mode) })
	}
}

func roundTripLoopback(t *testing.T, mode netrec.WriteMode) {
	path := filepath.Join(t.TempDir(), "live.rec")
	live := recordLoopback(t, path, mode)
	var traces [2][]byte
	for i := range traces {
		rp, err := netrec.Open(path, netrec.ReplayOptions{MatchNotes: true, OnRecord: func(rec *netrec.Record) {
			traces[i] = append(rec.AppendText(traces[i]), '\n')
		}})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := rp.Listener()
		if err != nil {
			t.Fatal(err)
		}
		cfg := loopbackConfig()
		cfg.Observer = netrec.Observer[server.CloseReason]{N: rp}
		srv, err := server.New(rp.Poller(), ln, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Run(rp.Stop); err != nil {
			t.Fatalf("replay %d: run: %v", i, err)
		}
		sum, err := rp.Finish()
		if err != nil {
			t.Fatalf("replay %d: %v", i, err)
		}
		rp.Close()
		if got := srv.Stats(); got != live {
			t.Errorf("replay %d ends with\n%+v\nthe live core with\n%+v", i, got, live)
		}
		t.Logf("replay %d: %d records, %s", i, sum.Steps, sum.End)
	}
	if !bytes.Equal(traces[0], traces[1]) {
		t.Error("two replays traced differently")
	}
}

func loopbackConfig() server.Config {
	cfg := server.DefaultConfig()
	cfg.ShutdownTimeout = 2 * time.Second
	cfg.LingerTimeout = time.Second
	return cfg
}

// recordLoopback runs the live session, recorded to path, and returns the
// core's final counters.
func recordLoopback(t *testing.T, path string, mode netrec.WriteMode) server.Stats {
	t.Helper()
	poller, err := netpoll.New()
	if err != nil {
		t.Fatal(err)
	}
	defer poller.Close()
	ln, err := netpoll.Listen("tcp", "127.0.0.1:0", netpoll.ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := netrec.Create(path, poller, netrec.Options{Config: []byte("loopbackConfig"), Writes: mode, DigestEvery: 3, Batches: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := loopbackConfig()
	cfg.Observer = netrec.Observer[server.CloseReason]{N: rec}
	srv, err := server.New(rec.Poller(), rec.Listener(ln), cfg) // netpoll's batches (io_uring, or writev)
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	done := make(chan error, 1)
	go func() { done <- srv.Run(rec.Stop(stop.Load)) }()

	chat(t, ln.Addr().String())
	stop.Store(true)
	poller.Wake()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("live run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("live server did not shut down")
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	st := rec.Stats()
	t.Logf("recorded %d records, %d bytes", st.Records, st.Bytes)
	return srv.Stats()
}

// chat connects the clients, waits until every one has joined (each sees
// its hello echoed), lets each send its lines and read until its own last
// line comes back, then ends them: client 0 resets, client 1 half-closes
// and reads to EOF, the rest close.
func chat(t *testing.T, addr string) {
	t.Helper()
	conns := make([]*net.TCPConn, loopbackClients)
	readers := make([]*bufio.Reader, loopbackClients)
	for i := range conns {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c.(*net.TCPConn)
		conns[i].SetDeadline(time.Now().Add(20 * time.Second))
		readers[i] = bufio.NewReader(c)
		fmt.Fprintf(c, "hello from %d\n", i)
		waitLine(t, readers[i], fmt.Sprintf("hello from %d\n", i))
	}
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			for j := range loopbackLines {
				if _, err := fmt.Fprintf(c, "client %d line %d %s\n", i, j, bytes.Repeat([]byte{'a' + byte(i)}, j*7)); err != nil {
					t.Errorf("client %d: %v", i, err)
					return
				}
			}
			waitLine(t, readers[i], fmt.Sprintf("client %d line %d ", i, loopbackLines-1))
		})
	}
	wg.Wait()
	conns[0].SetLinger(0)
	conns[0].Close()
	conns[1].CloseWrite()
	for {
		if _, err := readers[1].ReadString('\n'); err != nil {
			break // EOF once the server has flushed and closed
		}
	}
	for _, c := range conns[1:] {
		c.Close()
	}
}

// waitLine reads lines until one starts with prefix.
func waitLine(t *testing.T, r *bufio.Reader, prefix string) {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Errorf("waiting for %q: %v", prefix, err)
			return
		}
		if len(line) >= len(prefix) && line[:len(prefix)] == prefix {
			return
		}
	}
}
