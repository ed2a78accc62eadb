package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
)

// Goal: the README's copy of `mob -h` is what mob prints, so a new or
// changed flag cannot leave the operator's documentation behind. Method:
// compare the block under the README's <summary>mob -h</summary> with the
// usage parseFlags prints.
func TestREADMEShowsUsage(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const open = "<details><summary><code>mob -h</code></summary>\n\n```\n"
	i := bytes.Index(data, []byte(open))
	if i < 0 {
		t.Fatal("README has no mob -h block")
	}
	block := data[i+len(open):]
	block = block[:bytes.Index(block, []byte("```\n"))]
	var usage bytes.Buffer
	if _, err := parseFlags([]string{"-h"}, &usage); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	if got, want := string(block), usage.String(); got != want {
		t.Errorf("README's mob -h differs from mob's; paste `go run ./cmd/mob -h` into it. First difference at line %d:\nREADME: %q\nmob -h: %q",
			firstDiff(got, want)+1, line(got, firstDiff(got, want)), line(want, firstDiff(got, want)))
	}
}

func firstDiff(a, b string) int {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return i
		}
	}
	return min(len(la), len(lb))
}

func line(s string, i int) string {
	if l := strings.Split(s, "\n"); i < len(l) {
		return l[i]
	}
	return ""
}
