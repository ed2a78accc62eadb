//go:build !mobbugs

package server

import "github.com/mobsim/mobsim/kernel"

// bugSet holds the re-introduced bugs switched on for a server. Without the
// mobbugs build tag it is empty and has reports false as a constant, so
// every branch that tests it compiles away: normal builds carry no trace of
// the catalog.
type bugSet struct{}

func (bugSet) has(bugID) bool { return false }

func (bugSet) noteSender(*conn)       {}
func (bugSet) sender() *conn          { return nil }
func (bugSet) setFanoutFailed()       {}
func (bugSet) takeFanoutFailed() bool { return false }

func (*Server) lifo(a, b []byte) ([]byte, []byte) { return a, b }
func (*table) bySlot(kernel.Token) *conn          { return nil }
