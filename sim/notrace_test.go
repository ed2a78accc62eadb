//go:build !mobbugs

package sim

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// A normal build must carry no trace of the bug catalog: build the
// simulator binary without the mobbugs tag and look for the catalog's
// names and functions in it. The same check on a mobbugs build must find
// them, or the test proves nothing.
func TestNormalBuildHasNoBugKnobs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries")
	}
	needles := [][]byte{[]byte("missing-token"), []byte("fanout-error-drops-sender"), []byte("server.(*Server).EnableBug"), []byte("server.bugCatalog")}
	for _, tc := range []struct {
		tags string
		want bool
	}{{"", false}, {"mobbugs", true}} {
		bin := filepath.Join(t.TempDir(), "mobsim")
		args := []string{"build", "-o", bin}
		if tc.tags != "" {
			args = append(args, "-tags", tc.tags)
		}
		cmd := exec.Command("go", append(args, "../cmd/mobsim")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", tc.tags, err, out)
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range needles {
			if got := bytes.Contains(data, n); got != tc.want {
				t.Errorf("build tags %q: binary contains %q = %v, want %v", tc.tags, n, got, tc.want)
			}
		}
	}
}
