// Command mobsim runs the deterministic simulation of the mob server: it
// replays one seed (optionally with a readable or Perfetto trace) or sweeps
// a range of seeds in parallel, sharded if asked.
//
// Exit status: 0 every seed passed, 1 a violation, 2 usage.
//
// Usage:
//
//	mobsim -seed N [-trace] [-trace-out FILE] [-json] [-bug NAME]
//	mobsim -seeds N [-start S] [-parallel P] [-shard i/n] [-json] [-quiet]
//
// A sweep shows a live progress line on stderr and prints a summary; the
// failures are listed in seed order, each with the command that replays it.
// Shards are disjoint and together cover the range.
package main
