package main

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
)

// buildInfo is what -version prints and /metrics exports as mob_build_info.
type buildInfo struct {
	version   string // the module version: v1.2.0 from go install ...@v1.2.0, (devel) from a checkout
	revision  string // the VCS commit, "unknown" when the build recorded none
	modified  bool   // built from a work tree with uncommitted changes
	goVersion string
}

// pseudoRevision finds the commit in a pseudo-version
// (v0.0.0-20261201083000-0123456789ab), which is all that go install
// module@commit records.
var pseudoRevision = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+-(?:.*\.)?[0-9]{14}-([0-9a-f]{12})(?:\+incompatible)?$`)

// readBuildInfo reads the version from what the go command stamped into
// the binary: the main module's version, and the VCS settings of a build
// in a checkout (absent with -buildvcs=false).
func readBuildInfo() buildInfo {
	b := buildInfo{version: "unknown", revision: "unknown", goVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.version = bi.Main.Version
	if m := pseudoRevision.FindStringSubmatch(bi.Main.Version); m != nil {
		b.revision = m[1]
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.revision = s.Value
		case "vcs.modified":
			b.modified = s.Value == "true"
		}
	}
	return b
}

// String is the -version line: "mob v1.2.0 (revision 0123456789ab) go1.26.8".
func (b buildInfo) String() string {
	rev := b.revision
	if b.modified {
		rev += ", modified"
	}
	return fmt.Sprintf("mob %s (revision %s) %s", b.version, rev, b.goVersion)
}
