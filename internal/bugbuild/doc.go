// Package bugbuild makes the catalog build: the module's tree with every bug
// of package bugs applied, written to a directory of its own with an overlay
// file for the go command's -overlay flag (command internal/cmd/bugbuild
// runs a go command on it). The tree is only read.
//
// What it guarantees:
//
//   - A hunk applies only where its search text occurs exactly once in the
//     file as the earlier bugs left it. A bug that no longer applies (the
//     core moved on) is an error naming the bug, the file and the hunk,
//     never a silent skip; TestCatalogApplies checks every bug, alone and
//     with the others, on every run of the ordinary tests.
//   - A bug's syntax errors are reported as its own; the catalog build is
//     vetted by TestCatalogBuildVets.
//   - The catalog build declares one knob per bug (server/bugs_catalog.go),
//     off until bugs.Enable switches it on, so one build serves the whole
//     catalog.
package bugbuild
