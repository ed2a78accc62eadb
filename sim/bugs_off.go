//go:build !mobbugs

package sim

import (
	"errors"

	"github.com/mobsim/mobsim/server"
)

func enableBugs(_ *server.Server, names []string) error {
	if len(names) > 0 {
		return errors.New("bug knobs need a build with -tags mobbugs")
	}
	return nil
}
