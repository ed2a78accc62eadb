package load

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/mobsim/mobsim/bench/peer"
	"github.com/mobsim/mobsim/server"
)

// TestFrameRoundTrip checks the frame codec the latency figures rest on: a
// frame is exactly the asked size, is one frame to the server's own decoder
// (no stray newline in a line frame), and gives its fields back.
func TestFrameRoundTrip(t *testing.T) {
	for _, f := range []server.Framing{server.FramingMob, server.FramingLine} {
		for _, size := range []int{frameBytesMin, 64, 1000} {
			ns, id, seq := int64(0x0a0a0a0a0a0a0a0a), uint32(0x0a0a0a0a), uint32(7)
			b := appendFrame(nil, f, size, ns, id, seq)
			if len(b) != size {
				t.Fatalf("%v size %d: frame is %d bytes", f, size, len(b))
			}
			if n, err := f.Scan(b, frameBytesMax); n != size || err != nil {
				t.Fatalf("%v size %d: Scan = %d, %v", f, size, n, err)
			}
			gns, gid, gseq, ok := parseFrame(f, b)
			if !ok || gns != ns || gid != id || gseq != seq {
				t.Fatalf("%v size %d: parsed %d %d %d %v", f, size, gns, gid, gseq, ok)
			}
		}
	}
}

// TestOrderCheck feeds a receiver a sender's frames with a gap and a
// duplicate, and expects both counted; the first frame only sets the
// baseline, since a client may join after a sender started.
func TestOrderCheck(t *testing.T) {
	f := &Fleet{cfg: FleetConfig{Framing: server.FramingMob, Clients: 2, FrameBytes: 64}}
	c := &client{f: f, id: 0, lastSeq: make([]uint32, 2)}
	for _, seq := range []uint32{5, 6, 8, 8, 9} { // 5 baseline, gap 6->8, dup 8
		c.onFrame(appendFrame(nil, server.FramingMob, 64, 0, 1, seq), 0, true)
	}
	if c.orderErrs != 2 || c.delivered != 5 || c.hist.Count() != 5 {
		t.Fatalf("orderErrs %d delivered %d recorded %d; want 2, 5, 5", c.orderErrs, c.delivered, c.hist.Count())
	}
}

// TestFleetAndChurnAgainstMob runs the load generator briefly against an
// in-process mob server on loopback, checking that what it measures is sane:
// frames arrive, every delivery has a latency sample, and nothing is lost or
// reordered; churn cycles complete without error.
func TestFleetAndChurnAgainstMob(t *testing.T) {
	cfg := peer.DefaultConfig()
	p, err := peer.Start("mob", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	fl, err := StartFleet(ctx, FleetConfig{Addr: p.Addr().String(), Framing: cfg.Framing, Clients: 5,
		FrameBytes: 64, Window: 4, Sources: 2})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); p.Stats().Conns < 5; {
		if time.Now().After(deadline) {
			t.Fatal("clients did not join")
		}
		time.Sleep(5 * time.Millisecond)
	}
	fl.Go()
	time.Sleep(50 * time.Millisecond)
	fl.Measure()
	time.Sleep(200 * time.Millisecond)
	res := fl.Stop()
	if res.Errors != 0 || res.Deliveries == 0 || res.Latency.Count() != res.Deliveries {
		t.Fatalf("fleet: %d errors (%v), %d deliveries, %d samples", res.Errors, res.FirstError, res.Deliveries, res.Latency.Count())
	}
	cr, err := Churn(ctx, ChurnConfig{Addr: p.Addr().String(), Framing: cfg.Framing, Workers: 2,
		FrameBytes: 64, Sources: 4, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if cr.Errors != 0 || cr.Cycles == 0 {
		t.Fatalf("churn: %d errors (%v), %d cycles", cr.Errors, cr.FirstError, cr.Cycles)
	}
}

// TestTable checks the report's arithmetic: medians, worst-run errors, and
// ratios of the first server to the others.
func TestTable(t *testing.T) {
	pl := Plan{Impls: []string{"a", "b"}, Scenarios: []string{"churn"}}
	r := &Report{Plan: pl, Values: map[string]map[string]map[string][]float64{}}
	for _, v := range []float64{3, 1, 2} {
		r.add("churn", "a", map[string]float64{"cycles/s": v * 100, "errors": v - 1})
		r.add("churn", "b", map[string]float64{"cycles/s": v * 50, "errors": 0})
	}
	var out bytes.Buffer
	r.WriteTable(&out, false)
	for _, want := range []string{"cycles/s", "200", "100", "2.00", "errors"} {
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Fatalf("table lacks %q:\n%s", want, out.String())
		}
	}
	if got := r.Aggregate("churn", Metric{Name: "errors", Better: "lower", Worst: true}, "a"); got != 2 {
		t.Fatalf("worst errors = %v, want 2", got)
	}
}
