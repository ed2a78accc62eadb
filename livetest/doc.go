// Package livetest holds hostile-client and fault tests of the live server,
// cmd/mob, on real loopback sockets. It has no code of its own: every test
// builds the mob binary once (TestMain), runs it as a child process with the
// limits the case needs, attacks it with ordinary clients, and checks three
// things each time:
//
//   - the offender's outcome: the error frame and/or the close, with the close
//     reason read back from the server (its /debug/vars counters, or its log
//     line naming the offender's address);
//   - the bystanders' outcome: every frame they sent reaches every one of
//     them, in one order, byte-exact, with no gap;
//   - where it matters, the server's memory (VmRSS, VmHWM from
//     /proc/<pid>/status) and CPU time (/proc/<pid>/stat) stay bounded.
//
// Every test is bounded: deadlines on every socket, timeouts on every wait,
// and the child is killed at cleanup if it is still running. The tests use
// loopback only and are Linux-only (they read /proc and set RLIMIT_NOFILE
// on the child with prlimit).
package livetest
