//go:build mobbugs

package sim

import "github.com/mobsim/mobsim/server"

func enableBugs(s *server.Server, names []string) error {
	for _, n := range names {
		if err := s.EnableBug(n); err != nil {
			return err
		}
	}
	return nil
}
