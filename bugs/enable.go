package bugs

import (
	"errors"
	"fmt"
	"strings"
)

// Command runs a go command on the catalog build (from the module root).
const Command = "go run ./internal/cmd/bugbuild"

// knobbed is what the catalog build's server has and a normal build's has
// not.
type knobbed interface{ EnableBug(name string) error }

// Built reports whether srv, a *server.Server (nil will do), comes from the
// catalog build.
func Built(srv any) bool {
	_, ok := srv.(knobbed)
	return ok
}

// ErrNotBuilt says that bugs were named in a build without the catalog.
var ErrNotBuilt = errors.New("this build has no bug knobs")

// Check reports whether the named bugs can be switched on in a server like
// srv (a *server.Server; nil will do): every name is in the catalog and the
// build is the catalog build. The error says how to get that build.
func Check(srv any, names []string) error {
	if len(names) == 0 {
		return nil
	}
	if err := checkNames(names); err != nil {
		return err
	}
	if !Built(srv) {
		return fmt.Errorf("%w; the catalog build has them: %s GOCOMMAND ARGS..., e.g. %s run ./cmd/mobsim -seed 1 -bug %s (the catalog: %s)",
			ErrNotBuilt, Command, Command, strings.Join(names, ","), strings.Join(Names(), ", "))
	}
	return nil
}

// Enable switches the named bugs on in srv, a *server.Server from the
// catalog build, before its first Tick.
func Enable(srv any, names []string) error {
	if err := Check(srv, names); err != nil {
		return err
	}
	for _, n := range names {
		if err := srv.(knobbed).EnableBug(n); err != nil {
			return fmt.Errorf("bug %s: %w (the catalog build is older than the catalog)", n, err)
		}
	}
	return nil
}
