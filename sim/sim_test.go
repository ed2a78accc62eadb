package sim

import (
	"testing"
)

func TestStandardPasses(t *testing.T) {
	rep := Run(1, Standard(), Options{})
	if !rep.OK() {
		t.Fatalf("%v\nworld: %s", rep.Violation, rep.World)
	}
	t.Logf("steps %d events %d frames %d hash %x", rep.Steps, rep.Events, rep.Frames, rep.TraceHash)
}
