//go:build !linux

package child

import "os/exec"

// setDeathSignal does nothing where there is no parent-death signal: a
// child then outlives a parent that is killed.
func setDeathSignal(*exec.Cmd) {}
