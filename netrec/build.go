package netrec

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Build identifies the binary that made a recording, or the one replaying
// it. A divergence between two different builds is expected; between two
// equal ones it means the core is not deterministic given its inputs.
type Build struct {
	Module    string // main module path
	Version   string // main module version ("(devel)" for a source build)
	Revision  string // vcs.revision, empty when the build did not stamp it
	Time      string // vcs.time
	Modified  bool   // vcs.modified: the work tree had uncommitted changes
	Tags      string // the -tags build setting (the bug catalog is an -overlay build, not a tag)
	GoVersion string
	GOOS      string
	GOARCH    string
}

// CurrentBuild describes the running binary, from runtime/debug.ReadBuildInfo.
// Test binaries and `go run` carry no VCS stamp: Revision is then empty.
func CurrentBuild() Build {
	b := Build{GoVersion: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.Module, b.Version = info.Main.Path, info.Main.Version
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		case "-tags":
			b.Tags = s.Value
		}
	}
	return b
}

// Same reports whether b and o are the same build as far as a replay can
// tell: module, version, revision, modification, tags, toolchain and target.
// Two unstamped builds (empty Revision) are never the same: their sources
// cannot be told apart.
func (b Build) Same(o Build) bool {
	return b.Revision != "" && b == o
}

// String renders b on one line, e.g.
// "github.com/mobsim/mobsim (devel) rev 1f2e3d4c+modified go1.26.8 linux/amd64".
func (b Build) String() string {
	var s strings.Builder
	s.WriteString(orUnknown(b.Module))
	s.WriteByte(' ')
	s.WriteString(orUnknown(b.Version))
	s.WriteString(" rev ")
	s.WriteString(orUnknown(b.Revision))
	if b.Modified {
		s.WriteString("+modified")
	}
	if b.Tags != "" {
		s.WriteString(" tags=")
		s.WriteString(b.Tags)
	}
	fmt.Fprintf(&s, " %s %s/%s", orUnknown(b.GoVersion), b.GOOS, b.GOARCH)
	return s.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
