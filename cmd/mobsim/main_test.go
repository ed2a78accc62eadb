package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Shards must be disjoint and together cover the range, for any n, so a
// batch system can spread a sweep over machines and miss nothing.
func TestShardsPartitionTheRange(t *testing.T) {
	for _, count := range []uint64{0, 1, 7, 100, 1001} {
		for n := uint64(1); n <= 9; n++ {
			seen := make(map[uint64]int)
			for i := range n {
				for _, s := range shardSeeds(5, count, shard{i, n}) {
					seen[s]++
				}
			}
			if uint64(len(seen)) != count {
				t.Fatalf("count %d, %d shards: cover %d seeds", count, n, len(seen))
			}
			for s, k := range seen {
				if k != 1 || s < 5 || s >= 5+count {
					t.Fatalf("count %d, %d shards: seed %d seen %d times", count, n, s, k)
				}
			}
		}
	}
}

func TestParseShard(t *testing.T) {
	for _, bad := range []string{"", "1", "1/0", "2/2", "a/b", "-1/3"} {
		if _, err := parseShard(bad); err == nil {
			t.Errorf("parseShard(%q) accepted", bad)
		}
	}
	if s, err := parseShard("2/5"); err != nil || s != (shard{2, 5}) {
		t.Fatalf("parseShard(2/5) = %v, %v", s, err)
	}
}

// Exit codes: 0 pass, 2 usage; a replay prints the same trace twice.
func TestCLI(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-seeds", "0"}, &out, &errb); code != 2 {
		t.Fatalf("no seeds: exit %d, want 2", code)
	}
	if code := run([]string{"-seed", "3", "-seeds", "2"}, &out, &errb); code != 2 {
		t.Fatalf("both -seed and -seeds: exit %d, want 2", code)
	}
	if code := run([]string{"-bogus"}, &out, &errb); code != 2 {
		t.Fatalf("unknown flag: exit %d, want 2", code)
	}
	for _, args := range [][]string{
		{"-seed", "3", "-conn", "2"}, {"-seed", "3", "-steps", "4:9"},
		{"-seed", "3", "-trace", "-steps", "9:4"}, {"-seed", "3", "-trace", "-steps", "x"},
	} {
		if code := run(args, &out, &errb); code != 2 {
			t.Fatalf("%v: exit %d, want 2", args, code)
		}
	}
	var a, b bytes.Buffer
	if code := run([]string{"-seed", "7", "-trace"}, &a, &errb); code != 0 {
		t.Fatalf("seed 7: exit %d: %s", code, errb.String())
	}
	run([]string{"-seed", "7", "-trace"}, &b, &errb)
	if a.Len() == 0 || !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("replaying seed 7 twice printed different traces")
	}
	out.Reset()
	if code := run([]string{"-seeds", "20", "-start", "100", "-json", "-quiet", "-shard", "1/2"}, &out, &errb); code != 0 {
		t.Fatalf("sweep: exit %d: %s", code, out.String())
	}
	var sum summary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil || sum.Seeds != 10 || sum.Passed != 10 {
		t.Fatalf("summary %+v, %v", sum, err)
	}
}

// -trace-out writes Chrome trace-event JSON that parses and has events.
func TestTraceOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trace.json")
	var out, errb bytes.Buffer
	if code := run([]string{"-seed", "11", "-trace-out", path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		TraceEvents []struct {
			Name string  `json:"name"`
			Ph   string  `json:"ph"`
			Ts   float64 `json:"ts"`
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	if len(tr.TraceEvents) < 100 || !strings.Contains(string(data), `"accept"`) || !strings.Contains(string(data), `"thread_name"`) {
		t.Fatalf("%d events", len(tr.TraceEvents))
	}
	// The format's rules are timeline's tests; here, that the flag writes it.
}

// -trace -conn N -steps A:B filters the text trace.
func TestTraceFilters(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-seed", "7", "-trace", "-conn", "2", "-steps", "17:40"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if !strings.Contains(lines[0], "step") || len(lines) < 5 {
		t.Fatalf("%d lines, header %q", len(lines), lines[0])
	}
	for _, l := range lines[1:] {
		if !strings.Contains(l, " conn 2 (") {
			t.Fatalf("-conn 2 shows %q", l)
		}
	}
}
