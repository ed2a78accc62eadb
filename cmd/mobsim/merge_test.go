package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeShards sweeps made-up failures in n shards of 1..count and writes
// each shard's JSON summary to its own file.
func writeShards(t *testing.T, count, n int) []string {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for i := range n {
		_, _, data := fakeSweep(t, "-seeds", fmt.Sprint(count), "-shard", fmt.Sprintf("%d/%d", i, n))
		name := filepath.Join(dir, fmt.Sprintf("shard-%d.json", i))
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
	}
	return files
}

func runMerge(t *testing.T, args ...string) (summary, int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"merge", "-json"}, args...), &out, &errb)
	var sum summary
	if code != 2 {
		if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
			t.Fatalf("merge %q: exit %d, %v\n%s%s", args, code, err, out.Bytes(), errb.Bytes())
		}
	}
	return sum, code, errb.String()
}

// Goal: merging the shards of a sweep gives what the unsharded sweep gives:
// the totals, the failures, the groups. Method: sweep made-up failures
// whole and in 4 shards, merge the shards, compare.
func TestMergeEqualsTheWholeSweep(t *testing.T) {
	whole, _, _ := fakeSweep(t, "-seeds", "200")
	files := writeShards(t, 200, 4)
	m, code, _ := runMerge(t, files...)
	if code != 1 { // the made-up failures
		t.Errorf("exit %d, want 1", code)
	}
	if m.Seeds != whole.Seeds || m.Passed != whole.Passed || m.Failed != whole.Failed || m.Events != whole.Events ||
		!m.Complete || len(m.MissingShards) != 0 || !slices.Equal(m.Shards, []string{"0/4", "1/4", "2/4", "3/4"}) {
		t.Errorf("merged %+v\nwhole %+v", m, whole)
	}
	if fmt.Sprint(m.Invariants) != fmt.Sprint(whole.Invariants) || !slices.Equal(failingSeeds(m), failingSeeds(whole)) {
		t.Errorf("merged groups %+v\nwhole groups %+v", m.Invariants, whole.Invariants)
	}
	for i, f := range m.Failures {
		if f.Replay != whole.Failures[i].Replay || f.TraceHash != whole.Failures[i].TraceHash || !bytes.Equal(f.World, whole.Failures[i].World) {
			t.Errorf("failure %d differs after the merge: %+v", f.Seed, f)
		}
	}

	// One file holding every shard, as `kubectl logs` of the pods prints
	// them, and a shard given twice: the same result.
	var cat []byte
	for _, f := range append(files, files[2]) {
		data, _ := os.ReadFile(f)
		cat = append(cat, data...)
	}
	all := filepath.Join(t.TempDir(), "all.json")
	os.WriteFile(all, cat, 0o644)
	again, _, _ := runMerge(t, all, files[1])
	if again.Seeds != m.Seeds || again.Failed != m.Failed || fmt.Sprint(again.Invariants) != fmt.Sprint(m.Invariants) {
		t.Errorf("concatenated with repeats: %+v", again)
	}

	var text bytes.Buffer
	run(append([]string{"merge"}, files...), &text, &text)
	if !strings.Contains(text.String(), "200 seeds (1..200, 4 shards): 195 passed, 5 failed") ||
		!strings.Contains(text.String(), "delivery: 3 seeds; shortest: seed 9") {
		t.Errorf("text:\n%s", text.String())
	}
}

// Goal: a merge that lacks a shard, or mixes sweeps, does not pass for a
// clean result. Method: merge a clean range without one shard; merge
// shards of different ranges; merge files that are not summaries.
func TestMergeRefusesIncompleteOrMixed(t *testing.T) {
	files := writeShards(t, 2, 3) // seeds 1 and 2: none fails
	m, code, _ := runMerge(t, files[0], files[2])
	if code != 1 || m.Complete || !slices.Equal(m.MissingShards, []string{"1/3"}) {
		t.Errorf("missing shard: exit %d, %+v", code, m)
	}
	if _, code, _ := runMerge(t, files...); code != 0 {
		t.Errorf("all shards, no failure: exit %d", code)
	}

	other := writeShards(t, 50, 3)
	if _, code, msg := runMerge(t, files[0], other[1]); code != 2 || !strings.Contains(msg, "not one sweep") {
		t.Errorf("mixed ranges: exit %d, %q", code, msg)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"start": 1, "count": 2}`), 0o644)
	if _, code, msg := runMerge(t, bad); code != 2 || !strings.Contains(msg, "not the summary of one shard") {
		t.Errorf("a summary without a shard: exit %d, %q", code, msg)
	}
	os.WriteFile(bad, []byte(`not json`), 0o644)
	if _, code, _ := runMerge(t, bad); code != 2 {
		t.Errorf("not JSON: exit %d", code)
	}
	if _, code, _ := runMerge(t); code != 2 {
		t.Errorf("no file: exit %d", code)
	}
}
