package netfake

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestRingAgainstSlice checks the ring buffer against a plain byte slice
// over random writes, reads and moves between rings of capacities from 1
// to 1000 (so wrap-around and growth happen in every position), and that
// growth and release go through the pool.
func TestRingAgainstSlice(t *testing.T) {
	var pool bufPool
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 300; iter++ {
		a := ring{limit: 1 + rng.IntN(1000), pool: &pool}
		b := ring{limit: 1 + rng.IntN(1000), pool: &pool}
		var ma, mb []byte // models
		next := byte(0)
		for op := 0; op < 200; op++ {
			switch rng.IntN(4) {
			case 0:
				p := make([]byte, rng.IntN(300))
				for i := range p {
					p[i] = next
					next++
				}
				n := a.write(p)
				if want := min(len(p), a.limit-len(ma)); n != want {
					t.Fatalf("write took %d, want %d", n, want)
				}
				ma = append(ma, p[:n]...)
			case 1:
				p := make([]byte, rng.IntN(300))
				n := a.read(p)
				if !bytes.Equal(p[:n], ma[:n]) || n != min(len(p), len(ma)) {
					t.Fatalf("read %d bytes %v, model %v", n, p[:n], ma[:min(n, len(ma))])
				}
				ma = ma[n:]
			case 2:
				m := min(a.n, b.free(), rng.IntN(300))
				a.moveTo(&b, m)
				mb = append(mb, ma[:m]...)
				ma = ma[m:]
			case 3:
				p := make([]byte, rng.IntN(300))
				n := b.read(p)
				if !bytes.Equal(p[:n], mb[:n]) {
					t.Fatalf("read from b %v, model %v", p[:n], mb[:n])
				}
				mb = mb[n:]
			}
			if a.n != len(ma) || b.n != len(mb) || a.n > a.limit || b.n > b.limit {
				t.Fatalf("lengths %d/%d and %d/%d, models %d and %d", a.n, a.limit, b.n, b.limit, len(ma), len(mb))
			}
		}
		a.release()
		b.release()
	}
	if pool.kept == 0 {
		t.Fatal("released arrays never reached the pool")
	}
}
