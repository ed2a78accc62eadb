package main

import (
	"bytes"
	"strings"
	"testing"
)

// Goal: the soak's oracle catches event-loop bugs on real sockets, not
// only on the fake kernel. Method: in the catalog build, run a short soak
// against a server with each of a few catalog bugs switched on; each must
// end with exit status 1 and say why.
func TestSoakCatchesBugs(t *testing.T) {
	if !bugsBuilt {
		t.Skip("needs the catalog build: go run ./internal/cmd/bugbuild test ./cmd/mobsoak -run TestSoakCatchesBugs")
	}
	for _, bug := range []string{"lifo-queue", "drop-on-wouldblock", "hup-before-read", "spurious-writable-closes"} {
		t.Run(bug, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run([]string{"-duration", "4s", "-clients", "40", "-progress", "0", "-drain-timeout", "10s", "-bug", bug}, &out, &errOut)
			t.Logf("report:\n%s", out.String())
			if code != exitFail || !strings.Contains(out.String(), "\nFAIL\n") {
				t.Errorf("exit status %d with bug %s switched on, want %d and FAIL", code, bug, exitFail)
			}
		})
	}
}
