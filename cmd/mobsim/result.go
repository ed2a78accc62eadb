package main

import (
	"encoding/json"
	"fmt"

	"github.com/mobsim/mobsim/sim"
)

// seedResult is one seed's report as the JSON output carries it: the whole
// of `-seed N -json`, and each entry of a sweep's failures.
type seedResult struct {
	Seed      uint64         `json:"seed"`
	OK        bool           `json:"ok"`
	Violation *sim.Violation `json:"violation,omitempty"`
	// Replay is the command that replays a failure with its trace, and
	// Revision the module revision it replays on (see revision), if known.
	Replay   string `json:"replay,omitempty"`
	Revision string `json:"revision,omitempty"`
	Steps    int    `json:"steps"`
	Events   uint64 `json:"events"`
	Frames   int    `json:"frames"`
	// TraceHash is 16 hex digits: as a JSON number a uint64 loses its low
	// bits in jq and JavaScript, which read numbers as float64.
	TraceHash string `json:"trace_hash"`
	// World is the drawn sim.Config as an object (see sim.Config's
	// MarshalJSON); merge passes it through unread.
	World json.RawMessage `json:"world"`

	worldLine string // the one-line world, for the text output
}

// newSeedResult describes rep, a run of the world Swarm(rep.Seed).
func newSeedResult(rep sim.Report, bugs []string) (seedResult, error) {
	world, err := json.Marshal(sim.Swarm(rep.Seed))
	if err != nil {
		return seedResult{}, fmt.Errorf("seed %d: %w", rep.Seed, err)
	}
	r := seedResult{
		Seed: rep.Seed, OK: rep.OK(), Violation: rep.Violation,
		Steps: rep.Steps, Events: rep.Events, Frames: rep.Frames,
		TraceHash: fmt.Sprintf("%016x", rep.TraceHash),
		World:     world, worldLine: rep.World,
	}
	if !r.OK {
		r.Replay, r.Revision = sim.ReplayCommand(rep.Seed, bugs...), revision()
	}
	return r, nil
}

// invariant names the broken invariant, or "" for a pass.
func (r seedResult) invariant() string {
	if r.Violation == nil {
		return ""
	}
	return r.Violation.Invariant
}
