// Command mobsim runs the deterministic simulation of the mob server: it
// replays one seed (optionally with a readable or Perfetto trace) or sweeps
// a range of seeds in parallel, sharded if asked.
//
// It also replays a recording of the live server (mob -record, mobsoak
// -record): the core, built with the recorded config and bugs, runs
// against the recording instead of a kernel, and the oracle checks the
// recorded history as it checks a seed's, with the same invariant names
// and texts; the first call the core makes that the recording does not
// have next stops the replay with the step, the call made, the call
// recorded, and both builds.
//
// A replay prints a violation in its user's words with the facts behind it
// and the command that replays it, with the module revision (the build's
// VCS stamp, or git's in the working directory under go run). -trace
// prints the timeline under a column header with the violation where it
// is found; -conn N and -steps A:B filter it. -trace-out writes the same
// timeline for Perfetto (package timeline says what it holds). A seed and
// a recording are traced alike; a recording's steps are its record
// indexes.
//
// Exit status: 0 every seed passed (or the recording replayed clean), 1 a
// violation, 2 usage; with -replay also 3 the core diverged from the
// recording (a violation found before it is reported too), 4 the recording
// cannot be replayed (not a recording, damaged, another format version, a
// config or catalog bugs this build cannot run).
//
// Usage:
//
//	mobsim -seed N [-trace [-conn N] [-steps A:B]] [-trace-out FILE] [-json] [-bug NAME]
//	mobsim -replay FILE [-trace [-conn N] [-steps A:B]] [-trace-out FILE] [-json]
//	mobsim -seeds N [-start S] [-parallel P] [-shard i/n] [-json] [-quiet] [-failfast]
//	mobsim merge [-json] FILE...
//
// A sweep shows a progress line with an ETA on stderr (redrawn in place on
// a terminal, a line every 10 s elsewhere) and prints a summary: the
// failures grouped by invariant, each group naming its shortest failing
// seed, then every failure in seed order with the command that replays it.
// -failfast stops at the first failure. Shards are disjoint and together
// cover the range; merge combines their -json summaries into one.
//
// The JSON is made for jq and JavaScript: the trace hash is a hex string,
// lists are [] when empty, and the world is an object.
package main
