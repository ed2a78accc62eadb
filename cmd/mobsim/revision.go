package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
)

// revision is the module revision this mobsim was built from, for the
// replay lines: a seed replays its failure only on the code that found
// it. It is the build's vcs.revision when the build stamped it (go build
// in a checkout); `go run` and go test do not stamp, so then it asks git
// in the working directory, if that is a checkout of this module. "+" marks
// uncommitted changes. Empty: not known.
var revision = sync.OnceValue(func() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		if rev, dirty := stamped(info); rev != "" {
			return shortRev(rev, dirty)
		}
	}
	return gitRevision()
})

// stamped reads the VCS stamp of a build.
func stamped(info *debug.BuildInfo) (rev string, dirty bool) {
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	return rev, dirty
}

func shortRev(rev string, dirty bool) string {
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+"
	}
	return rev
}

const modulePath = "github.com/mobsim/mobsim"

// gitRevision asks git for the revision of the checkout in the working
// directory, if its go.mod is this module's.
func gitRevision() string {
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return ""
	}
	mod, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(top)), "go.mod"))
	if err != nil || !bytes.HasPrefix(mod, []byte("module "+modulePath+"\n")) {
		return ""
	}
	rev, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	status, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output()
	return shortRev(strings.TrimSpace(string(rev)), err != nil || len(status) > 0)
}

// replayLine is a replay command with the revision it replays on, as a
// shell comment so the line still runs as it is.
func replayLine(cmd, rev string) string {
	if rev == "" {
		return cmd
	}
	return cmd + "   # at rev " + rev
}
