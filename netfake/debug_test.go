package netfake_test

import (
	"testing"

	"github.com/mobsim/mobsim/netfake"
)

func TestDebugWorkloadStats(t *testing.T) {
	var recs, events, faults, data, complete int
	for seed := uint64(0); seed < 500; seed++ {
		_, comp, err := workloadStats(seed, func(r netfake.Record) {
			recs++
			if r.Kind == netfake.KindEvent {
				events++
			}
			if r.Fault != 0 {
				faults++
			}
			if r.Kind == netfake.KindClientRead {
				data += int(r.N)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		complete += comp
	}
	t.Logf("records %d events %d faults %d client bytes read %d complete %d", recs, events, faults, data, complete)
}
