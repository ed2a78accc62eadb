package netfake_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
)

// batchWorld is a kernel with conns connections accepted, for the batch
// tests: twin worlds from the same seed make the same draws.
type batchWorld struct {
	k       *netfake.Kernel
	clients []*netfake.Client
	socks   []*netfake.Socket
}

func newBatchWorld(t *testing.T, seed uint64, conns int, cfg netfake.Config) *batchWorld {
	t.Helper()
	w := &batchWorld{k: newKernel(seed, cfg)}
	l, err := w.k.Listen(conns)
	if err != nil {
		t.Fatal(err)
	}
	for range conns {
		c, s := connectAccept(t, w.k, l)
		w.clients, w.socks = append(w.clients, c), append(w.socks, s)
	}
	return w
}

// round is one batch: for every socket, one or two writes of a few
// buffers (some empty), and a stream of no kernel in the middle.
func (w *batchWorld) round(r int) []kernel.BatchWrite {
	var ws []kernel.BatchWrite
	for i, s := range w.socks {
		for j := range 1 + (i+r)%2 {
			p := []byte(fmt.Sprintf("r%d s%d w%d;", r, i, j))
			ws = append(ws, kernel.BatchWrite{Stream: s, Bufs: [kernel.BatchBufsMax][]byte{p[:3], nil, p[3:]}})
		}
		if i == 1 {
			ws = append(ws, kernel.BatchWrite{Stream: foreign{}, Bufs: [kernel.BatchBufsMax][]byte{[]byte("x")}})
		}
	}
	return ws
}

type foreign struct{}

func (foreign) Read([]byte) (int, error)  { return 0, kernel.ErrWouldBlock }
func (foreign) Write([]byte) (int, error) { return 0, kernel.ErrWouldBlock }
func (foreign) CloseWrite() error         { return nil }
func (foreign) Close() error              { return nil }

// TestWriteBatchIsSequentialWritev checks netfake's BatchWriter against
// its definition: twin kernels from one seed, with faults on (short
// writes, resets, EPIPE) and tiny buffers, one given each round as a
// batch, the other the same writes one Writev at a time. Every result,
// the bytes each client reads, and the trace hash must be the same.
func TestWriteBatchIsSequentialWritev(t *testing.T) {
	for _, edge := range modes {
		t.Run(edge.String(), func(t *testing.T) {
			cfg := netfake.Config{Edge: edge, SendBufBytes: 16, ClientRecvBufBytes: 24,
				Faults: netfake.FaultPlan{ShortWrite: 0.3, Reset: 0.02, Pipe: 0.02}}
			batched := newBatchWorld(t, 7, 5, cfg)
			oneByOne := newBatchWorld(t, 7, 5, cfg)
			for r := range 40 {
				ws := batched.round(r)
				batched.k.WriteBatch(ws)
				for i, w := range oneByOne.round(r) {
					s, isSocket := w.Stream.(*netfake.Socket)
					if !isSocket {
						if ws[i].N != 0 || ws[i].Err == nil {
							t.Fatalf("round %d write %d to a stream of no kernel: %d, %v; want 0 and an error", r, i, ws[i].N, ws[i].Err)
						}
						continue
					}
					n, err := s.Writev(w.Bufs[:])
					if ws[i].N != n || fmt.Sprint(ws[i].Err) != fmt.Sprint(err) {
						t.Fatalf("round %d write %d: batch %d, %v; one by one %d, %v", r, i, ws[i].N, ws[i].Err, n, err)
					}
				}
				for _, w := range []*batchWorld{batched, oneByOne} {
					w.k.Step()
				}
			}
			for i := range batched.clients {
				a, _ := readAll(batched.clients[i])
				b, _ := readAll(oneByOne.clients[i])
				if !bytes.Equal(a, b) {
					t.Fatalf("client %d read %q from the batches, %q from the writes one by one", i, a, b)
				}
			}
			if batched.k.Hash() != oneByOne.k.Hash() || batched.k.Records() != oneByOne.k.Records() {
				t.Fatalf("trace: %d records, hash %x batched; %d records, hash %x one by one",
					batched.k.Records(), batched.k.Hash(), oneByOne.k.Records(), oneByOne.k.Hash())
			}
			if n := batched.k.FaultCount(netfake.FaultShortWrite); n == 0 {
				t.Fatal("no short write was injected: the comparison is vacuous")
			}
		})
	}
}

// TestWriteBatchAllocs checks that a batch allocates nothing in steady
// state, as the server's fan-out needs.
func TestWriteBatchAllocs(t *testing.T) {
	w := newBatchWorld(t, 1, 8, netfake.Config{})
	msg := []byte("hello")
	ws := make([]kernel.BatchWrite, len(w.socks))
	buf := make([]byte, 64)
	allocs := testing.AllocsPerRun(100, func() {
		for i, s := range w.socks {
			ws[i] = kernel.BatchWrite{Stream: s, Bufs: [kernel.BatchBufsMax][]byte{msg, msg}}
		}
		w.k.WriteBatch(ws)
		w.k.Flush()
		for _, c := range w.clients {
			for {
				if _, err := c.Read(buf); err != nil {
					break
				}
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per batch; want 0", allocs)
	}
}
