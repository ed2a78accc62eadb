package bugbuild

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/mobsim/mobsim/bugs"
)

// Every bug of the catalog must apply to the tree as it is, alone and with
// all the others in catalog order: a change to the core that moves a bug's
// search text fails here, in the ordinary tests, not only in make bugs.
func TestCatalogApplies(t *testing.T) {
	tree := os.DirFS("../..")
	if _, err := Build(tree); err != nil {
		t.Fatalf("the catalog: %v", err)
	}
	for _, b := range bugs.Catalog() {
		if _, err := build(tree, []bugs.Bug{b}); err != nil {
			t.Errorf("alone: %v", err)
		}
	}
}

// The applier must refuse, naming the bug and the file, every hunk that does
// not find its text exactly once, and every added file that would replace
// one of the tree's.
func TestApplyFailsLoudly(t *testing.T) {
	tree := fstest.MapFS{
		"server/server.go": {Data: []byte("package server\n\ntype Server struct {\n\tstats Stats\n}\n\ntype Stats struct{}\n")},
		"server/a.go":      {Data: []byte("package server\n\nfunc a() {\n\tx()\n\tx()\n\ty()\n}\n\nfunc x() {}\nfunc y() {}\n")},
	}
	type (
		Hunk = bugs.Hunk
		File = bugs.File
	)
	bug := func(h Hunk, fs ...File) []bugs.Bug {
		return []bugs.Bug{{Name: "test-bug", Seen: "here", What: "test", Hunks: []Hunk{h}, Files: fs}}
	}
	for _, tc := range []struct {
		name string
		bugs []bugs.Bug
		want string
	}{
		{"missing text", bug(Hunk{File: "server/a.go", Find: "\n\tz()\n", Replace: "\n"}), "occurs 0 times in server/a.go"},
		{"text twice", bug(Hunk{File: "server/a.go", Find: "\n\tx()\n", Replace: "\n"}), "occurs 2 times in server/a.go"},
		{"empty text", bug(Hunk{File: "server/a.go", Find: "", Replace: "\n"}), "want exactly once"},
		{"missing file", bug(Hunk{File: "server/b.go", Find: "\n\tx()\n", Replace: "\n"}), "server/b.go"},
		{"adds a tree file", bug(Hunk{File: "server/a.go", Find: "\n\ty()\n", Replace: "\n"}, File{Path: "server/a.go", Text: "package server\n"}), "adds server/a.go, which the tree already has"},
		{"breaks the syntax", bug(Hunk{File: "server/a.go", Find: "\n\ty()\n", Replace: "\n\ty(\n"}), "leaves server/a.go unparsable"},
	} {
		_, err := build(tree, tc.bugs)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "test-bug") {
			t.Errorf("%s: error %v, want one naming test-bug and saying %q", tc.name, err, tc.want)
		}
	}
	got, err := build(tree, bug(Hunk{File: "server/a.go", Find: "\n\ty()\n", Replace: "\n\tif s.bugs.testBug {\n\t\tx()\n\t}\n\ty()\n"}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got["server/a.go"]), "\tif s.bugs.testBug {\n\t\tx()\n\t}\n\ty()\n") || !strings.Contains(string(got[knobsFile]), "testBug") {
		t.Errorf("a hunk that applies is not in the build:\n%s\n%s", got["server/a.go"], got[knobsFile])
	}
}

// The catalog build must compile and vet clean: a hunk can apply and still
// not type-check.
func TestCatalogBuildVets(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go vet")
	}
	overlay, err := Overlay("../..", filepath.Join(t.TempDir(), "catalog"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "vet", "-overlay="+overlay, "./server")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet of the catalog build: %v\n%s", err, out)
	}
}
