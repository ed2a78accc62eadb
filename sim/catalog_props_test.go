//go:build mobbugs

package sim_test

import (
	"testing"
	"time"
)

// propResult is what the rapid properties made of one knob.
type propResult struct {
	caught  bool
	test    string // the property that caught it
	actions int    // actions in the shrunk counterexample
	elapsed time.Duration
}

type propRunner struct{ t *testing.T }

func newPropRunner(t *testing.T) *propRunner { return &propRunner{t: t} }

func (p *propRunner) run(string) propResult { return propResult{} }
