package bugs

import (
	"strings"
	"testing"
)

// Every bug must say what it is, where it was seen and what goes wrong,
// under a name of its own, and test its own knob: a hunk that named another
// bug's knob, or a misspelt one, would compile into a bug that never turns
// on. (That each applies to the tree, internal/bugbuild's tests show; that
// its code is inert while the knob is off, the catalog's false-alarm sweep.)
func TestCatalogEntries(t *testing.T) {
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
			knob = knob || strings.Contains(h.Replace, "s.bugs."+b.Knob()+" ") || strings.Contains(h.Replace, "s.bugs."+b.Knob()+"\n")
		}
		if !knob {
			t.Errorf("bug %s: no hunk tests its knob s.bugs.%s", b.Name, b.Knob())
		}
	}
	if len(seen) != 14 {
		t.Errorf("the catalog has %d bugs, want the 14 the suite is known to catch", len(seen))
	}
}

// Enable on a value that is not the catalog build's server must say so and
// how to get that build, and an unknown name must be refused whatever the
// build.
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
