package sim

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Determinism is the product: a seed must replay exactly. This test reads the
// source of the packages that must replay (kernel, server, netfake, netrec,
// internal/recfile, oracle, sim, timeline, and examples/echo, whose seeded
// test replays like a simulation) and fails
// on anything that could make two runs of one seed differ: a goroutine, a
// select, the wall clock, the global math/rand source, or ranging over a map
// (Go randomises map order). A line may opt out with a "//detguard:ok
// <reason>" comment, which a reviewer then reads.
func TestDeterminismGuard(t *testing.T) {
	for _, dir := range []string{"../kernel", "../server", "../netfake", "../netrec", "../oracle", "../internal/recfile", "../timeline", "../examples/echo", "."} {
		found, err := determinismFindings(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range found {
			t.Error(f)
		}
	}
}

var wallClock = map[string]bool{
	"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
	"Tick": true, "NewTimer": true, "NewTicker": true, "AfterFunc": true,
}

// randConstructors are the math/rand functions that make a seeded source
// rather than draw from the global one.
var randConstructors = map[string]bool{
	"New": true, "NewPCG": true, "NewChaCha8": true, "NewSource": true, "NewZipf": true,
}

// determinismFindings lists every hazard in dir's non-test Go files.
func determinismFindings(dir string) ([]string, error) {
	var found []string
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []*ast.File
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no Go files", dir)
	}
	info := &types.Info{Types: make(map[ast.Expr]types.TypeAndValue)}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil), Error: func(error) {}}
	_, _ = conf.Check(dir, fset, files, info)

	for _, f := range files {
		allowed := map[int]bool{}
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				if strings.Contains(c.Text, "detguard:ok") {
					allowed[fset.Position(c.Pos()).Line] = true
				}
			}
		}
		imports := map[string]string{} // local name -> path
		for _, im := range f.Imports {
			path, _ := strconv.Unquote(im.Path.Value)
			name := filepath.Base(path)
			if path == "math/rand/v2" {
				name = "rand"
			}
			if im.Name != nil {
				name = im.Name.Name
			}
			imports[name] = path
		}
		report := func(n ast.Node, what string) {
			pos := fset.Position(n.Pos())
			if allowed[pos.Line] || allowed[pos.Line-1] {
				return
			}
			found = append(found, fmt.Sprintf("%s: %s", pos, what))
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				report(n, "goroutine started")
			case *ast.SelectStmt:
				report(n, "select statement")
			case *ast.SelectorExpr:
				id, ok := n.X.(*ast.Ident)
				if !ok {
					break
				}
				switch imports[id.Name] {
				case "time":
					if wallClock[n.Sel.Name] {
						report(n, "wall clock: time."+n.Sel.Name)
					}
				case "math/rand", "math/rand/v2":
					if !randConstructors[n.Sel.Name] && ast.IsExported(n.Sel.Name) && isFunc(info, n) {
						report(n, "global math/rand source: rand."+n.Sel.Name)
					}
				}
			case *ast.RangeStmt:
				if tv, ok := info.Types[n.X]; ok {
					if _, isMap := tv.Type.Underlying().(*types.Map); isMap {
						report(n, "range over a map (random order)")
					}
				}
			}
			return true
		})
	}
	return found, nil
}

func isFunc(info *types.Info, sel *ast.SelectorExpr) bool {
	tv, ok := info.Types[sel]
	if !ok {
		return true // unknown: be strict
	}
	_, fn := tv.Type.(*types.Signature)
	return fn
}

// The guard must itself catch what it claims to: feed it a file with each
// hazard and count the reports.
func TestDeterminismGuardCatches(t *testing.T) {
	dir := t.TempDir()
	src := `package bad

import (
	"fmt"
	"math/rand"
	"time"
)

func f(m map[int]int, ch chan int) {
	go func() {}()
	_ = time.Now()
	_ = rand.Intn(3)
	for k := range m {
		_ = k
	}
	select {
	case <-ch:
	}
	_ = rand.New(rand.NewSource(1)) // seeded: fine
	_ = time.Duration(3)             // not a clock: fine
	for k := range m { //detguard:ok test of the opt-out
		_ = k
	}
}
`
	if err := os.WriteFile(filepath.Join(dir, "bad.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	found, err := determinismFindings(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"goroutine", "wall clock: time.Now", "rand.Intn", "range over a map", "select"}
	if len(found) != len(want) {
		t.Fatalf("found %d hazards, want %d:\n%s", len(found), len(want), strings.Join(found, "\n"))
	}
	for i, w := range want {
		if !strings.Contains(found[i], w) {
			t.Errorf("finding %d is %q, want one about %q", i, found[i], w)
		}
	}
}
