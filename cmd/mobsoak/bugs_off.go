//go:build !mobbugs

package main

import (
	"errors"

	"github.com/mobsim/mobsim/server"
)

// bugsBuilt says whether -bug can work: only builds with -tags mobbugs
// have the server's bug catalog.
const bugsBuilt = false

func enableBug(*server.Server, string) error {
	return errors.New("-bug needs a build with -tags mobbugs")
}
