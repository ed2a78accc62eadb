package netfake_test

import "testing"

// TestEchoWorkloadIntegrity runs the seeded echo workload with faults and
// checks its invariants: no byte is corrupted, reordered or lost except by
// a reset, and after a fault-free drain every connected client has its
// echo back.
func TestEchoWorkloadIntegrity(t *testing.T) {
	for seed := uint64(0); seed < 500; seed++ {
		if _, err := workload(seed, nil); err != nil {
			t.Fatal(err)
		}
	}
}
