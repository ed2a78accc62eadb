package main

import (
	"fmt"
	"io"
	"os"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "merge" {
		return merge(args[1:], stdout, stderr)
	}
	o, err := parseFlags(args, stderr)
	if err != nil {
		if err == errHelp {
			return 0
		}
		fmt.Fprintln(stderr, "mobsim:", err)
		return 2
	}
	if o.replay != "" {
		return replayFile(o, stdout, stderr)
	}
	if o.seedSet {
		return replay(o, stdout, stderr)
	}
	return sweep(o, stdout, stderr)
}
