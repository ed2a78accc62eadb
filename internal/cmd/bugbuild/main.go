// Command bugbuild runs a go command on the catalog build: the module's tree
// with every bug of package bugs applied, through the go command's -overlay
// flag, so the working tree is never touched. Run it from inside the module:
//
//	go run ./internal/cmd/bugbuild test ./sim -run TestBugCatalog -v
//	go run ./internal/cmd/bugbuild run ./cmd/mobsim -seed 5 -bug lifo-queue -trace
//	go run ./internal/cmd/bugbuild vet ./...
//	go run ./internal/cmd/bugbuild -o /tmp/catalog   # keep the files, print the overlay's path
//
// The -overlay flag goes right after the go subcommand. A bug that no
// longer applies to the tree is an error (exit 1) before any go command
// runs; otherwise the exit status is the go command's.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/mobsim/mobsim/internal/bugbuild"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bugbuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `bugbuild: run a go command on the catalog build (the tree with the bug catalog applied).

  bugbuild [-o DIR] GOCOMMAND [ARGS...]   e.g. bugbuild test ./sim -run TestBugCatalog
  bugbuild -o DIR                          write the catalog build, print its overlay file

`)
		fs.PrintDefaults()
	}
	keep := fs.String("o", "", "write the catalog build's files and overlay.json under this `directory` and keep them (default: a temporary one, removed afterwards)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	goArgs := fs.Args()
	if len(goArgs) == 0 && *keep == "" {
		fs.Usage()
		return 2
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(stderr, "bugbuild:", err)
		return 1
	}
	dir := *keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "mobsim-bugbuild-"); err != nil {
			fmt.Fprintln(stderr, "bugbuild:", err)
			return 1
		}
		defer os.RemoveAll(dir)
	}
	overlay, err := bugbuild.Overlay(root, dir)
	if err != nil {
		fmt.Fprintln(stderr, "bugbuild:", err)
		return 1
	}
	if len(goArgs) == 0 {
		fmt.Fprintln(stdout, overlay)
		return 0
	}
	// The go command gets the terminal's interrupt too; wait for it to end
	// so the temporary files are removed after it.
	signal.Ignore(os.Interrupt)
	cmd := exec.Command("go", append([]string{goArgs[0], "-overlay=" + overlay}, goArgs[1:]...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintln(stderr, "bugbuild:", err)
		return 1
	}
	return 0
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside a module: run bugbuild from the mobsim tree")
	}
	return filepath.Dir(mod), nil
}
