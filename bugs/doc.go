// Package bugs is the bug catalog: event-loop bugs that shipped in real
// servers, kept as patches against the server core so the test suite can
// show it catches each one, while the core itself carries no trace of them.
//
// Each bug is one file of this package: its name, where it was seen, one
// sentence on what goes wrong, and its change as exact search/replace hunks
// against named files of the tree (plus, where it needs a helper, whole files
// it adds). The catalog build applies every bug's hunks, in catalog order, to
// a copy of the files they name and compiles the tree with Go's -overlay
// flag, so the working tree is never touched. In that build each bug's code
// sits behind a knob that is off until switched on by name (Enable), so one
// build serves the whole catalog and bugs can be combined; with every knob
// off the catalog build behaves exactly as a normal build.
//
//	go run ./internal/cmd/bugbuild test ./sim -run TestBugCatalog -v
//	go run ./internal/cmd/bugbuild run ./cmd/mobsim -seed 5 -bug lifo-queue -trace
//
// What it guarantees:
//
//   - A hunk applies only where its search text occurs exactly once in the
//     file as the earlier bugs left it. A bug that no longer applies (the
//     core moved on) is an error naming the bug, the file and the hunk,
//     never a silent skip; TestCatalogApplies checks every bug on every run
//     of the ordinary tests.
//   - Every bug applies on its own as well as with the others, so each can
//     be read, and kept up to date, alone.
//   - A normal build has no knobs: the server package of the tree has no
//     knob code, and Enable on its server reports that the catalog build is
//     needed and how to get it.
package bugs
