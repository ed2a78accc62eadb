// Package bugs is the bug catalog: event-loop bugs that shipped in real
// servers, kept as patches against the server core so the test suite can
// show it catches each one, while the core itself carries no trace of them.
//
// Each bug is one file of this package: its name, where it was seen, one
// sentence on what goes wrong, and its change as exact search/replace hunks
// against named files of the tree (plus, where it needs a helper, whole files
// it adds). The catalog build (package internal/bugbuild) applies every
// bug's hunks, in catalog order, to copies of the files they name, and the
// go command compiles them with its -overlay flag, so the working tree is
// never touched. In that build each bug's code sits behind a knob that is
// off until switched on by name (Enable), so one build serves the whole
// catalog and bugs can be combined; with every knob off the catalog build
// behaves exactly as a normal build.
//
//	go run ./internal/cmd/bugbuild test ./sim -run TestBugCatalog -v
//	go run ./internal/cmd/bugbuild run ./cmd/mobsim -seed 5 -bug lifo-queue -trace
//
// What it guarantees:
//
//   - Every bug applies to the tree as it is, on its own and with the
//     others; a bug that no longer applies is an error, never a skip
//     (internal/bugbuild's TestCatalogApplies, on every run of the tests).
//     A change to the core that moves a bug's text updates the bug's file
//     in the same commit.
//   - A normal build has no knobs: the server package of the tree has no
//     knob code, and Enable (or Check) on its server says that the catalog
//     build is needed, how to get it, and which bugs the catalog has.
//   - This package is data and names only: it imports no go/* tooling, so
//     the simulator that lists the catalog carries nothing more.
package bugs
