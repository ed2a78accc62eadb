package bugs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// Every bug of the catalog must apply to the tree as it is, alone and with
// all the others in catalog order: a change to the core that moves a bug's
// search text fails here, in the ordinary tests, not only in make bugs.
// Each bug must also say what it is and test its own knob. (That its code
// is inert while the knob is off, the catalog's false-alarm sweep shows.)
func TestCatalogApplies(t *testing.T) {
	tree := os.DirFS("..")
	if _, err := Build(tree); err != nil {
		t.Fatalf("the catalog: %v", err)
	}
	seen := map[string]bool{}
	for _, b := range Catalog() {
		if b.Name == "" || b.Seen == "" || b.What == "" || len(b.Hunks) == 0 {
			t.Errorf("bug %q: needs a name, where it was seen, what goes wrong and at least one hunk", b.Name)
		}
		if seen[b.Name] {
			t.Errorf("bug %q: listed twice", b.Name)
		}
		seen[b.Name] = true
		knob := false
		for _, h := range b.Hunks {
			knob = knob || strings.Contains(h.Replace, "s.bugs."+b.Knob())
		}
		if !knob {
			t.Errorf("bug %s: no hunk tests its knob s.bugs.%s", b.Name, b.Knob())
		}
		if _, err := build(tree, []Bug{b}); err != nil {
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
	bug := func(h Hunk, fs ...File) []Bug {
		return []Bug{{Name: "test-bug", Seen: "here", What: "test", Hunks: []Hunk{h}, Files: fs}}
	}
	for _, tc := range []struct {
		name string
		bugs []Bug
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
	overlay, err := Overlay("..", filepath.Join(t.TempDir(), "catalog"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "vet", "-overlay="+overlay, "./server")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet of the catalog build: %v\n%s", err, out)
	}
}

// Enable on a value that is not the catalog build's server must say so, and
// an unknown name must be refused whatever the build.
func TestEnableOutsideTheCatalogBuild(t *testing.T) {
	type plain struct{}
	if err := Enable(plain{}, nil); err != nil {
		t.Errorf("no names: %v", err)
	}
	if err := Enable(plain{}, []string{"lifo-queue"}); err == nil || !strings.Contains(err.Error(), Command) {
		t.Errorf("normal build: %v, want the catalog build's command", err)
	}
	if err := Check(plain{}, []string{"lifo-queu"}); err == nil || !strings.Contains(err.Error(), "unknown bug") {
		t.Errorf("misspelt name: %v", err)
	}
}
