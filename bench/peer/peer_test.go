package peer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mobsim/mobsim/server"
)

// TestBroadcastOrder checks that every peer meets the contract the benchmark
// compares them on, so a fast but wrong peer cannot win: three clients each
// send frames over real loopback sockets, and every client must receive every
// frame, the sender included, in one order shared by all.
func TestBroadcastOrder(t *testing.T) {
	for _, impl := range Impls {
		for _, f := range []server.Framing{server.FramingMob, server.FramingLine} {
			t.Run(impl+"/"+f.String(), func(t *testing.T) { testBroadcastOrder(t, impl, f) })
		}
	}
}

func testBroadcastOrder(t *testing.T, impl string, f server.Framing) {
	const clients, perClient = 3, 40
	cfg := DefaultConfig()
	cfg.Framing = f
	p, err := Start(impl, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := net.DialTimeout("tcp", p.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	waitConns(t, p, clients)
	for i, c := range conns {
		go func() {
			var out []byte
			for k := range perClient {
				out = f.Encode(out, fmt.Appendf(nil, "c%d-%02d", i, k))
			}
			// Several writes so frames interleave with the other clients'.
			for len(out) > 0 {
				n := min(len(out), 37)
				if _, err := c.Write(out[:n]); err != nil {
					return
				}
				out = out[n:]
			}
		}()
	}
	var first []string
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, err := readFrames(bufio.NewReader(c), f, clients*perClient)
		if err != nil {
			t.Fatalf("client %d: %v after %d frames", i, err, len(got))
		}
		next := make([]int, clients)
		for _, g := range got {
			var src, k int
			if _, err := fmt.Sscanf(g, "c%d-%d", &src, &k); err != nil || k != next[src] {
				t.Fatalf("client %d: frame %q out of order (want c%d-%02d)", i, g, src, next[src])
			}
			next[src]++
		}
		if first == nil {
			first = got
		} else if fmt.Sprint(first) != fmt.Sprint(got) {
			t.Fatalf("client %d saw another global order than client 0", i)
		}
	}
	if st := p.Stats(); st.FramesIn != clients*perClient {
		t.Fatalf("stats: FramesIn %d, want %d", st.FramesIn, clients*perClient)
	}
}

// TestSlowClientCut checks the queue bound of every peer: a client that
// never reads while another floods must be disconnected, not buffered for
// without limit.
func TestSlowClientCut(t *testing.T) {
	for _, impl := range Impls {
		t.Run(impl, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.QueueBytesMax = 256 << 10
			p, err := Start(impl, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			slow, err := net.Dial("tcp", p.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer slow.Close()
			_ = slow.(*net.TCPConn).SetReadBuffer(4 << 10)
			fast, err := net.Dial("tcp", p.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer fast.Close()
			waitConns(t, p, 2)
			go io.Copy(io.Discard, fast)
			frame := cfg.Framing.Encode(nil, bytes.Repeat([]byte("x"), 1000))
			deadline := time.Now().Add(10 * time.Second)
			for p.Stats().CutSlow == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("slow reader never cut; stats %+v", p.Stats())
				}
				if _, err := fast.Write(frame); err != nil {
					t.Fatalf("fast writer: %v", err)
				}
			}
		})
	}
}

func waitConns(t *testing.T, p Peer, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().Conns < n {
		if time.Now().After(deadline) {
			t.Fatalf("peer has %d connections, want %d", p.Stats().Conns, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readFrames(r *bufio.Reader, f server.Framing, n int) ([]string, error) {
	var got []string
	for len(got) < n {
		if f == server.FramingLine {
			line, err := r.ReadString('\n')
			if err != nil {
				return got, err
			}
			got = append(got, line[:len(line)-1])
			continue
		}
		var h [8]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return got, err
		}
		body := make([]byte, binary.BigEndian.Uint64(h[:]))
		if _, err := io.ReadFull(r, body); err != nil {
			return got, err
		}
		got = append(got, string(body))
	}
	return got, nil
}
