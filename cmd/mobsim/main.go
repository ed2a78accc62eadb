// Command mobsim runs the deterministic simulation of the mob server: it
// replays one seed (optionally with a readable or Perfetto trace) or sweeps
// a range of seeds in parallel, sharded if asked.
//
// Exit status: 0 every seed passed, 1 a violation, 2 usage.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if err == errHelp {
			return 0
		}
		fmt.Fprintln(stderr, "mobsim:", err)
		return 2
	}
	if o.seedSet {
		return replay(o, stdout, stderr)
	}
	return sweep(o, stdout, stderr)
}
