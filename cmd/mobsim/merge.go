package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
)

const mergeUsage = `Usage: mobsim merge [-json] FILE...

Combines the -json summaries of the shards of one sweep (mobsim -seeds N
-shard i/n -json) into one: totals, the failures in seed order (each seed
once), grouped by invariant with the shortest failing seed of each. A FILE
may hold several summaries one after another (as kubectl logs prints the
pods of an Indexed Job); - reads standard input. A shard given twice counts
once.

Exit status: 0 every shard is there and every seed passed; 1 a seed failed,
a shard is missing or stopped early (-failfast); 2 usage, or summaries that
do not belong together.

`

// shardSummary is a summary read back, with where it came from.
type shardSummary struct {
	summary
	from string
	sh   shard
}

// merge is the merge subcommand.
func merge(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mobsim merge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, mergeUsage)
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, "print the merged summary as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "mobsim merge: give the shard summaries to merge (FILE... or - for standard input)")
		return 2
	}
	var all []shardSummary
	for _, name := range fs.Args() {
		got, err := readSummaries(name)
		if err != nil {
			fmt.Fprintln(stderr, "mobsim merge:", err)
			return 2
		}
		all = append(all, got...)
	}
	sum, err := mergeSummaries(all)
	if err != nil {
		fmt.Fprintln(stderr, "mobsim merge:", err)
		return 2
	}
	if *asJSON {
		if err := sum.writeJSON(stdout); err != nil {
			fmt.Fprintln(stderr, "mobsim merge:", err)
			return 2
		}
	} else {
		sum.writeText(stdout)
	}
	if !sum.ok() {
		return 1
	}
	return 0
}

// readSummaries decodes every summary in the file name ("-": stdin).
func readSummaries(name string) ([]shardSummary, error) {
	var r io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	var out []shardSummary
	dec := json.NewDecoder(r)
	for k := 1; ; k++ {
		var s shardSummary
		err := dec.Decode(&s.summary)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: summary %d: %w", name, k, err)
		}
		s.from = fmt.Sprintf("%s (summary %d)", name, k)
		if s.Shard == "" {
			return nil, fmt.Errorf("%s: not the summary of one shard (no \"shard\"; a merged summary cannot be merged again)", s.from)
		}
		if s.sh, err = parseShard(s.Shard); err != nil {
			return nil, fmt.Errorf("%s: %w", s.from, err)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no summary in it", name)
	}
	return out, nil
}

// mergeSummaries combines shards of one sweep: they must share the range
// and the shard count. A shard given twice must agree with itself and
// counts once.
func mergeSummaries(all []shardSummary) (summary, error) {
	first := all[0]
	byIndex := map[uint64]shardSummary{}
	for _, s := range all {
		if s.Start != first.Start || s.Count != first.Count || s.sh.n != first.sh.n {
			return summary{}, fmt.Errorf("%s sweeps %d seeds from %d in %d shards, %s %d from %d in %d: not one sweep",
				s.from, s.Count, s.Start, s.sh.n, first.from, first.Count, first.Start, first.sh.n)
		}
		if prev, ok := byIndex[s.sh.i]; ok {
			// Seeds replay exactly, so two full runs of a shard agree
			// unless the code differs; a run that -failfast cut short
			// gives way to a full one.
			switch {
			case prev.Complete && s.Complete && !sameResults(prev.summary, s.summary):
				return summary{}, fmt.Errorf("shard %s is in %s and %s with different results (different code?)", s.Shard, prev.from, s.from)
			case !prev.Complete && s.Complete:
				byIndex[s.sh.i] = s
			}
			continue
		}
		byIndex[s.sh.i] = s
	}
	m := summary{Start: first.Start, Count: first.Count, Complete: true, Shards: []string{}}
	var failures []seedResult
	for i := range first.sh.n {
		name := fmt.Sprintf("%d/%d", i, first.sh.n)
		s, ok := byIndex[i]
		if !ok {
			m.MissingShards = append(m.MissingShards, name)
			m.Complete = false
			continue
		}
		m.Shards = append(m.Shards, name)
		m.Seeds += s.Seeds
		m.Events += s.Events
		m.Seconds += s.Seconds
		m.Complete = m.Complete && s.Complete
		failures = append(failures, s.Failures...)
	}
	m.setFailures(failures)
	m.Failed = len(m.Failures)
	m.Passed = m.Seeds - m.Failed
	m.setRates()
	return m, nil
}

// sameResults reports whether two full runs of one shard agree: the same
// number of seeds ran and the same ones failed, with the same trace.
func sameResults(a, b summary) bool {
	key := func(s summary) []string {
		var k []string
		for _, f := range s.Failures {
			k = append(k, fmt.Sprintf("%d:%s:%s", f.Seed, f.invariant(), f.TraceHash))
		}
		return k
	}
	return a.Seeds == b.Seeds && slices.Equal(key(a), key(b))
}
