//go:build !mobbugs

package sim

import (
	"errors"

	"github.com/mobsim/mobsim/server"
)

// EnableBugs switches on the named catalog bugs in s. Builds without the
// mobbugs tag have no bugs to switch on and return an error for any name.
func EnableBugs(_ *server.Server, names []string) error {
	if len(names) > 0 {
		return errors.New("bug knobs need a build with -tags mobbugs")
	}
	return nil
}
