package sim

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mobsim/mobsim/internal/bugbuild"
)

// A normal build must carry no trace of the bug catalog's knobs: build the
// simulator and the live server from the tree and look in the binaries for
// the knobs' code (the EnableBug method, a bug's helper); the live server
// must not even hold the catalog's names (the simulator does: it lists them
// when -bug is given to a normal build). The same check on the catalog
// build must find the code, or the test proves nothing.
func TestNormalBuildHasNoBugKnobs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three binaries")
	}
	code := [][]byte{[]byte("server.(*Server).EnableBug"), []byte("server.(*Server).lifo")}
	names := [][]byte{[]byte("missing-token"), []byte("fanout-error-drops-sender")}
	overlay, err := bugbuild.Overlay("..", filepath.Join(t.TempDir(), "catalog"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		build, pkg, overlay string
		wantCode, wantNames bool
	}{
		{"normal", "../cmd/mob", "", false, false},
		{"normal", "../cmd/mobsim", "", false, true},
		{"catalog", "../cmd/mobsim", overlay, true, true},
	} {
		bin := filepath.Join(t.TempDir(), "bin")
		args := []string{"build", "-o", bin}
		if tc.overlay != "" {
			args = append(args, "-overlay="+tc.overlay)
		}
		cmd := exec.Command("go", append(args, tc.pkg)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s build of %s: %v\n%s", tc.build, tc.pkg, err, out)
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range code {
			if got := bytes.Contains(data, n); got != tc.wantCode {
				t.Errorf("%s build of %s contains %q = %v, want %v", tc.build, tc.pkg, n, got, tc.wantCode)
			}
		}
		for _, n := range names {
			if got := bytes.Contains(data, n); got != tc.wantNames {
				t.Errorf("%s build of %s contains %q = %v, want %v", tc.build, tc.pkg, n, got, tc.wantNames)
			}
		}
	}
}
