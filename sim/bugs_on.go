//go:build mobbugs

package sim

import "github.com/mobsim/mobsim/server"

// EnableBugs switches on the named catalog bugs in s. Builds without the
// mobbugs tag have no bugs to switch on and return an error for any name.
func EnableBugs(s *server.Server, names []string) error {
	for _, n := range names {
		if err := s.EnableBug(n); err != nil {
			return err
		}
	}
	return nil
}
