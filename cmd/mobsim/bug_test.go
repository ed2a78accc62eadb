package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mobsim/mobsim/bugs"
	"github.com/mobsim/mobsim/sim"
)

// -bug is a usage error (exit 2) wherever it cannot work, a normal build or
// a name the catalog lacks, and the message says how to get the catalog
// build and lists the knobs. In the catalog build a known bug runs, and the
// failure's replay line goes through the catalog build again.
func TestBugFlag(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"-seed", "3", "-bug", "lifo-queue"}, &out, &errb)
	if sim.BugsBuilt() {
		if code != 1 || !strings.Contains(errb.String()+out.String(), bugs.Command+" run ./cmd/mobsim -seed 3 -bug lifo-queue") {
			t.Errorf("catalog build, lifo-queue at seed 3: exit %d, want 1 and a replay line through %s:\n%s%s", code, bugs.Command, out.String(), errb.String())
		}
	} else if code != 2 || !strings.Contains(errb.String(), bugs.Command) || !strings.Contains(errb.String(), "no-writable-interest") {
		t.Errorf("normal build: exit %d, want 2 naming %s and the knobs:\n%s", code, bugs.Command, errb.String())
	}
	errb.Reset()
	if code := run([]string{"-seed", "3", "-bug", "lifo-queu"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown bug "lifo-queu"`) {
		t.Errorf("misspelt bug: exit %d, want 2:\n%s", code, errb.String())
	}
}
