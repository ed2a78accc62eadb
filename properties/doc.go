// Package properties holds mobsim's property tests and fuzz targets: the
// server on the fake kernel (netfake), driven by pgregory.net/rapid so that a
// failure shrinks to a short, readable story, and by Go's native fuzzer.
//
// The tests are its substance; the package exports nothing. Its one
// reusable piece, chaosPoller (chaos_test.go), is a kernel.Poller that
// wraps a kernel and, batch by batch, adds every event the seam contract
// allows a kernel to deliver (events for closed, reused or never-issued
// tokens, duplicates, kqueue-style split events, false hints) and shuffles
// the batch, following a plan the test draws. It never drops or delays a
// real event, so a server that keeps the contract must behave exactly as
// without it, apart from counting stale events. It learns what it needs of
// the server's tokens from the registrations it passes on.
//
// What a client is owed is not restated here: every world these tests
// build feeds the shared oracle (package oracle) from the fake kernel's
// record, the server's claims and its clients, so a property failure is a
// violation of the same specification the simulator and the live soak
// check, shrunk by rapid to a short story.
//
// What the tests establish (see the _test files; each says its method):
//
//   - TestBatchShuffle and TestStateMachine: whatever the batch order and
//     whatever extra events arrive, the server never panics, its internal
//     invariants hold (Server.Check), its connection count matches the
//     kernel's open descriptors, and the oracle finds every step of the
//     history within the specification and the drained world live.
//   - TestFramingSplits, TestFramingRoundTrip, TestFramingErrors: any split
//     of a byte stream into reads yields the same frames, Encode and Scan
//     agree, and malformed or oversized input gets the documented error
//     without losing an earlier frame.
//   - FuzzLineDecoder, FuzzMobDecoder: Framing.Scan applied incrementally,
//     and the server's partial-frame path, agree with a byte-at-a-time
//     reference decoder on arbitrary bytes and split points.
//   - FuzzSimSeed: a simulator seed with knobs overridden passes every
//     invariant.
//
// The test flag -mobsim.bug=name switches a bug from the catalog (package
// bugs) on in every server these tests build, to show which property
// catches it; it needs the catalog build (go run ./internal/cmd/bugbuild
// test ./properties -mobsim.bug=name).
package properties
