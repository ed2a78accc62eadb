// Package e2e holds the end-to-end tests of the live server: the mob
// binary, built once (TestMain) and run as a child process on loopback
// with the limits each case needs, driven by ordinary clients. It has no
// code of its own. The tests cover what a user of the binary sees: the
// broadcast order and byte-exact relay in both framings, half-closes and
// resets, SIGTERM while clients chat, and one test per hostile client or
// fault (the README's table). Each checks three things where they apply:
//
//   - the offender's outcome: the error frame and/or the close, with the
//     close reason read back from the server (its /debug/vars counters, or
//     its log line naming the offender's address);
//   - the bystanders' outcome: every frame they sent reaches every one of
//     them, in one order, byte-exact, with no gap;
//   - where it matters, the server's memory (VmRSS, VmHWM from
//     /proc/<pid>/status), its kernel's (the send queues of its sockets in
//     /proc/net/tcp) and its CPU time (/proc/<pid>/stat) stay bounded.
//
// Pass or fail never depends on timing: a test waits for a condition (a
// counter, a log line, a backlog), bounded, and asserts on frames, close
// reasons and memory with wide margins; a bound on a duration only tells
// "waited for a deadline" from "did not". make stress runs these tests ten
// times beside two CPU burners. Timing figures are benchmarks
// (BenchmarkNeverReaderKernelMemory, BenchmarkPartialFrameFloodRSS).
//
// Every test is bounded: deadlines on every socket, timeouts on every wait,
// and the child is killed at cleanup if it is still running (and by the
// kernel if the test binary dies). The tests use loopback only and are
// Linux-only (they read /proc and set RLIMIT_NOFILE on the child with
// prlimit). The frames and write splits of a run come from one seed it
// logs; -e2e.seed replays them (the interleaving on real sockets cannot be
// replayed).
package e2e
