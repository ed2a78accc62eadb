// Package child runs a program as a child process for the live tools and
// tests that measure a server from outside it: the e2e tests (the mob
// binary), cmd/mobsoak (its own server child) and the benchmark's driver
// (the peers). It owns the parts each of them would otherwise write again:
// starting, waiting from one goroutine, stopping within a bound, and
// keeping the child's log line by line for tests to wait on, and the
// descriptor limit a server child inherits.
//
// What it guarantees:
//
//   - On Linux the child gets SIGKILL if the parent dies (a test binary
//     killed by -timeout skips its cleanups), so no server outlives its
//     test.
//   - Exactly one goroutine calls exec.Cmd.Wait, after the child's log
//     (when kept) has been read to its end, as os/exec requires; Exited
//     and Err tell everyone else.
//   - Wait and Kill never block past their bound: a child that does not
//     exit in time is killed.
//   - Lines.Wait returns the first line matching, old or new, and gives up
//     at the end of the log or at its timeout.
package child
