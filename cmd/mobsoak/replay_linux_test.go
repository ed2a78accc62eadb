package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mobsim/mobsim/internal/bugbuild"
)

// Goal: a bug of the catalog seen live is caught live, and the recording of
// that run replays the same violation deterministically, with its step and
// its invariant: the promise that every live failure replays like a seed.
// Method: build the catalog's mobsoak and mobsim (the overlay build, as
// bugbuild makes it), run a 1 s soak with lifo-queue switched on and
// -record, which must fail with a delivery violation and keep the
// recording; then replay it twice with -json: exit 1 both times, a
// delivery violation at the same step with the same text, and the same
// trace hash.
func TestLiveBugReplays(t *testing.T) {
	if bugsBuilt {
		t.Skip("this test builds the catalog itself; in the catalog build TestSoakCatchesBugs runs")
	}
	dir := t.TempDir()
	overlay, err := bugbuild.Overlay("../..", filepath.Join(dir, "catalog"))
	if err != nil {
		t.Fatal(err)
	}
	bin := func(pkg string) string {
		out := filepath.Join(dir, filepath.Base(pkg))
		cmd := exec.Command("go", "build", "-overlay="+overlay, "-o", out, pkg)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building the catalog's %s: %v\n%s", pkg, err, b)
		}
		return out
	}
	soak, mobsim := bin("github.com/mobsim/mobsim/cmd/mobsoak"), bin("github.com/mobsim/mobsim/cmd/mobsim")
	rec := filepath.Join(dir, "bug.rec")

	out, code := runBin(t, soak, "-duration", "1s", "-clients", "10", "-progress", "0", "-drain-timeout", "1s",
		"-bug", "lifo-queue", "-record", rec)
	t.Logf("live:\n%s", out)
	if code != exitFail || !strings.Contains(out, "\nFAIL\n") || !regexp.MustCompile(`\n  [^\n]*delivery: `).MatchString(out) {
		t.Fatalf("the live run: exit %d, want %d, FAIL and a delivery violation", code, exitFail)
	}
	if !strings.Contains(out, "replay: "+bugbuildRun+" ./cmd/mobsim -replay "+rec) {
		t.Errorf("the live report does not say how to replay the recording")
	}
	for _, p := range []string{rec, rec + ".clients"} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, %v; want a kept 0600 file", p, fi, err)
		}
	}

	type result struct {
		OK        bool `json:"ok"`
		Violation *struct {
			Invariant string `json:"invariant"`
			Step      int    `json:"step"`
			Detail    string `json:"detail"`
		} `json:"violation"`
		Bugs      []string `json:"bugs"`
		End       string   `json:"end"`
		Records   uint64   `json:"records"`
		TraceHash string   `json:"trace_hash"`
	}
	var res [2]result
	for i := range res {
		js, code := runBin(t, mobsim, "-replay", rec, "-json")
		if err := json.Unmarshal([]byte(js[:strings.LastIndex(js, "}\n")+1]), &res[i]); err != nil {
			t.Fatalf("replay %d: %v\n%s", i, err, js)
		}
		t.Logf("replay %d: exit %d\n%s", i, code, js)
		r := res[i]
		if code != 1 || r.OK || r.Violation == nil || r.Violation.Invariant != "delivery" || r.Violation.Step <= 0 ||
			r.End != "end" || len(r.Bugs) != 1 || r.Bugs[0] != "lifo-queue" {
			t.Fatalf("replay %d: exit %d, %+v; want exit 1 and a delivery violation with its step", i, code, r)
		}
	}
	if *res[0].Violation != *res[1].Violation || res[0].TraceHash != res[1].TraceHash || res[0].Records != res[1].Records {
		t.Errorf("two replays differ:\n%+v\n%+v", res[0], res[1])
	}
}

// bugbuildRun is how the catalog build runs a command, as reports print it.
const bugbuildRun = "go run ./internal/cmd/bugbuild run"

// runBin runs a built binary, bounded, and returns its combined output
// (stdout first: the report or the JSON) and its exit status.
func runBin(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return stdout.String() + stderr.String(), exit.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", bin, err)
	}
	return stdout.String() + stderr.String(), 0
}
