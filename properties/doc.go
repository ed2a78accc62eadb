// Package properties holds mobsim's property tests and fuzz targets: the
// server on the fake kernel (netfake), driven by pgregory.net/rapid so that a
// failure shrinks to a short, readable story, and by Go's native fuzzer.
//
// The tests are its substance. The package itself exports one reusable piece:
// ChaosPoller, a kernel.Poller that wraps a kernel and, batch by batch, adds
// every event the seam contract allows a kernel to deliver (events for
// closed, reused or never-issued tokens, duplicates, kqueue-style split
// events, false hints) and shuffles the batch, following a Chaos plan the
// caller draws. It never drops or delays a real event, so a server that keeps
// the contract must behave exactly as without it, apart from counting stale
// events.
//
// What the tests establish (see the _test files; each says its method):
//
//   - TestBatchShuffle and TestStateMachine: whatever the batch order and
//     whatever extra events arrive, the server never panics, its internal
//     invariants hold (Server.Check), its connection count matches the
//     kernel's open descriptors, every frame it reports reading is one a
//     client completed, and every connection receives exactly the frames read
//     while it was a member, in order (a prefix of them if it was cut off).
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
