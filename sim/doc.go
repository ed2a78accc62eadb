// Package sim is the seeded simulation of the mob server on the fake kernel
// (package netfake): it finds event-loop bugs from seeds and replays any
// failure exactly.
//
// Run(seed, config) builds a kernel, a server and scripted clients (chatty,
// bursty, slow reader, never reader, half-closer, resetter, reconnecter,
// oversized sender, idler; any of them stubborn: once told to go, by its
// error frame, the server's FIN or a shutdown, it keeps its socket and goes
// on sending), runs a fault phase, then a drain phase with faults off in
// which clients only finish what they started and read everything, then a
// teardown (the clients close, or a graceful shutdown). Swarm(seed) draws
// each seed's own world: buffer sizes down to one byte, batch shape, edge
// mode, framing, limits, the client mix, a subset of fault kinds, what the
// server's work costs in virtual time (per syscall, per byte, jitter) and
// how often the network moves between two of its syscalls, and in some
// worlds frames up to 64 KiB.
//
// What it guarantees:
//
//   - Determinism: every choice comes from one PRNG seeded with the seed
//     (plus the Swarm draw, itself seeded), so a seed replays exactly; the
//     kernel's trace hash is the same in every run and process. No
//     goroutine, wall clock, global rand or map iteration is used (a test
//     reads the source to keep it so).
//   - Every invariant is checked as the run goes, and the first violation is
//     reported with its step. The specification is package oracle's: the
//     run feeds it the fake kernel's structured record of the server's
//     syscalls (KernelFeed), the server's claims (ClaimFeed) and its
//     clients' sends and receipts, and the oracle checks delivery,
//     membership, memory, fairness, timing (no poll asks to sleep past a
//     deadline the oracle knows of; timers fire at their deadlines), kernel
//     fidelity and liveness (no busy loop; after the drain, every client
//     served). The poll cap that paces the world (clients act between
//     ticks) hides no oversleeping: a timer that fires after a wait it cut
//     short is reported. The run itself checks
//     no panic, Server.Check after every tick, and no leaked fds,
//     registrations or table slots after the teardown. The human trace
//     (Options.Trace, a stream of timeline events) is fed from the same
//     structured records and feeds no check; the first violation enters
//     it right after the fact that caused it, with the oracle's facts and
//     the last readiness the server got for the connection.
//   - ReplayCommand gives the one command that replays a seed with a
//     readable trace.
//   - Replay runs the core against a recording of the live server (package
//     netrec) instead of the fake kernel, with the recorded config and
//     bugs, and checks the recorded history with the same oracle, fed the
//     same way: the recording's records for the kernel's, its clock, its
//     record indexes as steps, the replayed core's claims (held to the
//     recorded ones), and the clients' account beside the recording for
//     the far side of each connection (ReplayAccountChecks). A live
//     violation is reported in the same words as a simulated one; a
//     replay is deterministic (the trace hash is the same every time), and
//     the first divergence from the recording is reported apart from any
//     violation.
package sim
