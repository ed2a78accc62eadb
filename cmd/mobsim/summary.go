package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// summary is what a sweep prints, and what merge reads back and prints for
// several shards together.
type summary struct {
	Start uint64 `json:"start"`
	Count uint64 `json:"count"`
	// Shard is the one shard a sweep ran ("i/n"); a merge lists the
	// shards it combined in Shards and those it lacks in MissingShards.
	Shard         string   `json:"shard,omitempty"`
	Shards        []string `json:"shards,omitempty"`
	MissingShards []string `json:"missing_shards,omitempty"`
	Seeds         int      `json:"seeds_run"`
	Passed        int      `json:"passed"`
	Failed        int      `json:"failed"`
	// Complete is false when -failfast stopped the sweep before every seed
	// of its shard ran, or a merge lacks a shard.
	Complete bool   `json:"complete"`
	Events   uint64 `json:"events"`
	// Seconds is the sweep's wall time; for a merge, the sum over shards
	// (machine time), which the rates are per.
	Seconds    float64 `json:"seconds"`
	SeedsPerS  float64 `json:"seeds_per_second"`
	EventsPerS float64 `json:"events_per_second"`
	// Invariants groups the failures by the invariant they broke, the most
	// frequent first.
	Invariants []invariantGroup `json:"invariants"`
	// Failures are in seed order, each seed once.
	Failures []seedResult `json:"failures"`
}

// invariantGroup is every failure of one invariant, and the one to look at
// first: the shortest run (fewest steps, then lowest seed).
type invariantGroup struct {
	Invariant     string   `json:"invariant"`
	Failed        int      `json:"failed"`
	Seeds         []uint64 `json:"seeds"`
	ShortestSeed  uint64   `json:"shortest_seed"`
	ShortestSteps int      `json:"shortest_steps"`
	Replay        string   `json:"replay"`
}

// setFailures stores failures (in any order, possibly repeating a seed) in
// seed order without repeats, and groups them by invariant.
func (s *summary) setFailures(failures []seedResult) {
	fs := slices.Clone(failures)
	slices.SortStableFunc(fs, func(a, b seedResult) int { return cmp.Compare(a.Seed, b.Seed) })
	fs = slices.CompactFunc(fs, func(a, b seedResult) bool { return a.Seed == b.Seed })
	if fs == nil {
		fs = []seedResult{} // "failures": [], never null
	}
	s.Failures = fs

	byName := map[string]*invariantGroup{}
	s.Invariants = []invariantGroup{}
	var order []string
	for _, f := range fs {
		name := f.invariant()
		g := byName[name]
		if g == nil {
			g = &invariantGroup{Invariant: name, ShortestSeed: f.Seed, ShortestSteps: f.Steps, Replay: f.Replay}
			byName[name] = g
			order = append(order, name)
		}
		g.Failed++
		g.Seeds = append(g.Seeds, f.Seed)
		if f.Steps < g.ShortestSteps { // seeds come in order: a tie keeps the lower
			g.ShortestSeed, g.ShortestSteps, g.Replay = f.Seed, f.Steps, f.Replay
		}
	}
	for _, name := range order {
		s.Invariants = append(s.Invariants, *byName[name])
	}
	slices.SortStableFunc(s.Invariants, func(a, b invariantGroup) int {
		return cmp.Or(cmp.Compare(b.Failed, a.Failed), cmp.Compare(a.Invariant, b.Invariant))
	})
}

// setRates derives the per-second rates from the totals.
func (s *summary) setRates() {
	if s.Seconds > 0 {
		s.SeedsPerS = float64(s.Seeds) / s.Seconds
		s.EventsPerS = float64(s.Events) / s.Seconds
	}
}

// ok reports whether every seed of the range ran and passed.
func (s *summary) ok() bool { return s.Complete && s.Failed == 0 && len(s.MissingShards) == 0 }

func (s *summary) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// writeText prints the totals, one line per broken invariant naming its
// shortest failing seed, then every failure with its replay command.
func (s *summary) writeText(w io.Writer) {
	where := "shard " + s.Shard
	if s.Shards != nil {
		where = fmt.Sprintf("%d shards", len(s.Shards))
		if len(s.Shards) == 1 {
			where = "1 shard"
		}
	}
	fmt.Fprintf(w, "%d seeds (%d..%d, %s): %d passed, %d failed in %.1fs — %.0f seeds/s, %.3g events/s\n",
		s.Seeds, s.Start, s.Start+s.Count-1, where, s.Passed, s.Failed, s.Seconds, s.SeedsPerS, s.EventsPerS)
	if len(s.MissingShards) > 0 {
		fmt.Fprintf(w, "missing shards: %s\n", strings.Join(s.MissingShards, " "))
	} else if !s.Complete {
		fmt.Fprintln(w, "stopped early (-failfast): not every seed ran")
	}
	for _, g := range s.Invariants {
		fmt.Fprintf(w, "%s: %d seeds; shortest: seed %d (%d steps): %s\n", g.Invariant, g.Failed, g.ShortestSeed, g.ShortestSteps, g.Replay)
	}
	for _, f := range s.Failures {
		fmt.Fprintf(w, "seed %d: %v\n", f.Seed, f.Violation)
		if f.worldLine != "" {
			fmt.Fprintf(w, "  world: %s\n", f.worldLine)
		}
		fmt.Fprintf(w, "  replay: %s\n", replayLine(f.Replay, f.Revision))
	}
}
