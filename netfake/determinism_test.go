package netfake_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mobsim/mobsim/netfake"
)

const (
	determinismSeeds = 1000
	hashOutEnv       = "NETFAKE_HASH_OUT" // set in the child: where to write its hashes
)

// hashes runs the echo workload for every seed and returns the trace
// hashes, little-endian, 8 bytes each.
func hashes(t *testing.T) []byte {
	out := make([]byte, 0, 8*determinismSeeds)
	for seed := uint64(0); seed < determinismSeeds; seed++ {
		h, err := workload(seed, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = binary.LittleEndian.AppendUint64(out, h)
	}
	return out
}

// TestDeterminismAcrossProcesses checks that a seed gives the same trace
// hash in another process: nothing in the kernel may depend on map order,
// addresses, the clock or global state. Method: compute the hashes of 1000
// seeded workloads (faults on) here, re-execute this test binary to compute
// them in a child process, and compare. It also checks that the hashes tell
// the seeds apart.
func TestDeterminismAcrossProcesses(t *testing.T) {
	if path := os.Getenv(hashOutEnv); path != "" {
		if err := os.WriteFile(path, hashes(t), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	here := hashes(t)
	path := filepath.Join(t.TempDir(), "hashes")
	cmd := exec.Command(os.Args[0], "-test.run=^TestDeterminismAcrossProcesses$", "-test.count=1")
	cmd.Env = append(os.Environ(), hashOutEnv+"="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	there, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(here, there) {
		for i := 0; i+8 <= len(here) && i+8 <= len(there); i += 8 {
			if !bytes.Equal(here[i:i+8], there[i:i+8]) {
				t.Fatalf("seed %d: hash %x here, %x in the child", i/8, here[i:i+8], there[i:i+8])
			}
		}
		t.Fatalf("hash lists differ in length: %d and %d", len(here), len(there))
	}
	distinct := map[string]bool{}
	for i := 0; i < len(here); i += 8 {
		distinct[string(here[i:i+8])] = true
	}
	if len(distinct) < determinismSeeds*99/100 {
		t.Fatalf("only %d distinct hashes over %d seeds", len(distinct), determinismSeeds)
	}
}

// TestHashFollowsTrace checks the running hash against the trace: the same
// calls give the same hash and record count, one different call changes
// it, and setting a tracer does not change it.
func TestHashFollowsTrace(t *testing.T) {
	run := func(extra bool, traced bool) (uint64, []string) {
		k := newKernel(1, netfake.Config{})
		var lines []string
		if traced {
			k.SetTracer(func(r netfake.Record) { lines = append(lines, r.String()) })
		}
		_, c, s := pair(t, k)
		_, _ = c.Write([]byte("hi"))
		k.Step()
		_, _ = s.Read(make([]byte, 1))
		if extra {
			_, _ = s.Read(make([]byte, 1))
		}
		if traced && k.Records() != uint64(len(lines)) {
			t.Fatalf("records %d, tracer saw %d", k.Records(), len(lines))
		}
		return k.Hash(), lines
	}
	a, lines := run(false, true)
	b, _ := run(false, false)
	c, _ := run(true, false)
	if a != b {
		t.Fatalf("tracer changed the hash: %x vs %x", a, b)
	}
	if a == c {
		t.Fatal("an extra read did not change the hash")
	}
	want := []string{"listen", "client connect", "accept", "client write", "net data c->s", "read"}
	if len(lines) != len(want) {
		t.Fatalf("trace:\n%s", lines)
	}
	for i, w := range want {
		if !bytes.Contains([]byte(lines[i]), []byte(w)) {
			t.Fatalf("trace line %d %q, want %q", i, lines[i], w)
		}
	}
}
