package netfake_test

import (
	"testing"

	"github.com/mobsim/mobsim/netfake"
)

// TestEchoWorkloadIntegrity runs the seeded echo workload with faults and
// checks its invariants: no byte is corrupted, reordered or lost except by
// a reset, and after a fault-free drain every connected client has its
// echo back. It also checks that the workload did exercise the kernel:
// faults were injected, events delivered, and clients completed.
func TestEchoWorkloadIntegrity(t *testing.T) {
	var faults, events, complete int
	var faultKinds [16]bool
	for seed := uint64(0); seed < 500; seed++ {
		_, comp, err := workloadStats(seed, func(r netfake.Record) {
			if r.Fault != netfake.FaultNone {
				faults++
				faultKinds[r.Fault] = true
			}
			if r.Kind == netfake.KindEvent {
				events++
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		complete += comp
	}
	for f := netfake.FaultShortRead; f <= netfake.FaultMFile; f++ {
		if !faultKinds[f] {
			t.Errorf("fault %s never injected", f)
		}
	}
	if events < 5000 || complete < 250 {
		t.Fatalf("workload too weak: %d faults, %d events, %d complete clients", faults, events, complete)
	}
}
