package sim_test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mobsim/mobsim/internal/bugbuild"
)

// propResult is what the rapid properties made of one knob.
type propResult struct {
	caught  bool
	test    string // the property that caught it
	actions int    // steps in the shrunk counterexample
	elapsed time.Duration
	story   string // the shrunk story, as rapid printed it
}

// propRunner runs the rapid properties of package properties against a
// buggy server: it builds their test binary once on the catalog build (the
// overlay package bugs writes for the tree) and runs it per knob with
// -mobsim.bug. It runs in an empty directory so no
// committed fail file is replayed: each knob must be found from scratch.
type propRunner struct {
	t   *testing.T
	bin string
	dir string
}

func newPropRunner(t *testing.T) *propRunner {
	dir := t.TempDir()
	bin := filepath.Join(dir, "properties.test")
	overlay, err := bugbuild.Overlay("..", filepath.Join(dir, "catalog"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "test", "-c", "-overlay="+overlay, "-o", bin, "../properties")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the properties: %v\n%s", err, out)
	}
	return &propRunner{t: t, bin: bin, dir: dir}
}

// Each shrunk step is one rapid draw: an action of the state machine, or a
// round of the batch property.
var stepLine = regexp.MustCompile(`\[rapid\] draw (action:|round \d+:)`)

func (p *propRunner) run(bug string) propResult {
	start := time.Now()
	res := propResult{}
	for _, test := range []string{"TestStateMachine", "TestBatchShuffle"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(ctx, p.bin, "-test.run", "^"+test+"$", "-mobsim.bug="+bug,
			"-rapid.nofailfile", "-rapid.checks=1000")
		cmd.Dir = p.dir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		cancel()
		if err == nil {
			continue
		}
		if !strings.Contains(out.String(), "[rapid] failed") && !strings.Contains(out.String(), "[rapid] panic") {
			p.t.Errorf("%s with %s: the property binary failed without a rapid counterexample: %v\n%s", test, bug, err, out.String())
			continue
		}
		steps := len(stepLine.FindAllString(out.String(), -1))
		if !res.caught || steps < res.actions {
			res.caught, res.test, res.actions, res.story = true, test, steps, out.String()
		}
	}
	res.elapsed = time.Since(start)
	return res
}
