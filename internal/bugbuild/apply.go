package bugbuild

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mobsim/mobsim/bugs"
)

// Build returns the files of the catalog build by slash path: each file a
// bug changes, with every bug's hunks applied in catalog order; each file a
// bug adds; and the file that declares the knobs. tree is the module root.
func Build(tree fs.FS) (map[string][]byte, error) { return build(tree, bugs.Catalog()) }

// build applies bs (and the knobs they need) to tree.
func build(tree fs.FS, bs []bugs.Bug) (map[string][]byte, error) {
	k, err := knobs(bs)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, b := range append([]bugs.Bug{k}, bs...) {
		if err := apply(tree, out, b); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// apply makes b's changes to out, the files changed so far (the rest are
// as in tree). Each hunk must find its search text exactly once in its file
// as the bugs before it left it.
func apply(tree fs.FS, out map[string][]byte, b bugs.Bug) error {
	touched := map[string]bool{}
	for i, h := range b.Hunks {
		text, ok := out[h.File]
		if !ok {
			var err error
			if text, err = fs.ReadFile(tree, h.File); err != nil {
				return fmt.Errorf("bug %s, hunk %d: %w", b.Name, i+1, err)
			}
		}
		if n := occurrences(text, []byte(h.Find)); n != 1 {
			return fmt.Errorf("bug %s, hunk %d: its search text occurs %d times in %s, want exactly once (the core changed: update bugs/%s.go):\n%s",
				b.Name, i+1, n, h.File, strings.ReplaceAll(b.Name, "-", "_"), h.Find)
		}
		out[h.File] = bytes.Replace(text, []byte(h.Find), []byte(h.Replace), 1)
		touched[h.File] = true
	}
	for _, f := range b.Files {
		if _, err := fs.Stat(tree, f.Path); err == nil {
			return fmt.Errorf("bug %s adds %s, which the tree already has", b.Name, f.Path)
		}
		if _, ok := out[f.Path]; ok {
			return fmt.Errorf("bug %s adds %s, which an earlier bug made", b.Name, f.Path)
		}
		out[f.Path] = []byte(f.Text)
		touched[f.Path] = true
	}
	// A syntax error is the bug's own; type errors show at compile time.
	for _, p := range slices.Sorted(maps.Keys(touched)) {
		if !strings.HasSuffix(p, ".go") {
			continue
		}
		if _, err := parser.ParseFile(token.NewFileSet(), p, out[p], parser.SkipObjectResolution); err != nil {
			return fmt.Errorf("bug %s leaves %s unparsable: %w", b.Name, p, err)
		}
	}
	return nil
}

// Overlay writes the catalog build of the module at root under dir, with an
// overlay file for the go command's -overlay flag, and returns that file's
// path. The tree is only read.
func Overlay(root, dir string) (string, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	files, err := Build(os.DirFS(root))
	if err != nil {
		return "", err
	}
	replace := map[string]string{}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(dst, files[p], 0o644); err != nil {
			return "", err
		}
		replace[filepath.Join(root, filepath.FromSlash(p))] = dst
	}
	js, err := json.MarshalIndent(struct{ Replace map[string]string }{replace}, "", "\t")
	if err != nil {
		return "", err
	}
	file := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(file, append(js, '\n'), 0o644); err != nil {
		return "", err
	}
	return file, nil
}

// occurrences counts where find occurs in text, overlaps included: hunks
// begin and end at line breaks, so two equal lines in a row overlap.
// Empty text occurs everywhere.
func occurrences(text, find []byte) int {
	if len(find) == 0 {
		return len(text) + 1
	}
	n := 0
	for i := 0; ; i++ {
		j := bytes.Index(text[i:], find)
		if j < 0 {
			return n
		}
		n++
		i += j
	}
}
