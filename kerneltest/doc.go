// Package kerneltest checks an implementation of package kernel against the
// seam's contract (the package doc of kernel), as testing/fstest.TestFS
// checks an fs.FS and golang.org/x/net/nettest.TestConn a net.Conn. A kernel
// passes it by handing Run a Harness: its Poller, a way to open listeners,
// peers to drive connections from the other side, and a way to let
// transmission and time pass.
//
//	func TestKernelContract(t *testing.T) {
//		kerneltest.Run(t, func(t *testing.T) kerneltest.Harness { return newHarness(t) })
//	}
//
// Run makes one subtest per clause of the contract (its doc lists them);
// each logs first the sentence of the clause it checks. netpoll runs the
// suite on epoll (Linux) and kqueue (macOS and the BSDs), netfake in each
// of its edge modes and batch shapes.
//
// # What it guarantees
//
//   - It imports only package kernel and the standard library, so any kernel
//     can run it without depending on mob's packages.
//   - Timing does not decide pass or fail. Every wait for an expected event
//     is a bounded loop of Settle and a short Poll that ends at the event or
//     at a generous cap (1000 rounds, at least 10 s on a real kernel), so a
//     slow machine only makes it slower. A check that an event does not
//     come (after Deregister or Close) watches a few rounds: a late stray
//     event can make it pass falsely, never fail falsely. The one wall-clock
//     bound is PollTimeout's: a Poll still running 10 s past its timeout
//     counts as hung.
//   - It tolerates everything the contract allows a kernel: events with
//     tokens it never registered, a token twice in a batch, readiness split
//     over several events (kqueue), extra edges, short reads and writes, and
//     ErrInterrupted with no events (it then polls again). It does not
//     tolerate an event for a token after that token's source was
//     deregistered or closed, or reregistered under another token, unless
//     the harness injects spurious events (SpuriousInjector).
//   - Each subtest gets a harness of its own from mk, so no state leaks from
//     one clause into the next; the suite closes every source it opens.
//
// Capabilities that only some kernels have are optional interfaces of the
// Harness (Interrupter, SpuriousInjector), of the Poller (a Wake method,
// kernel.BatchWriter) or of the streams (kernel.VectorWriter,
// kernel.UnackedCounter, kernel.Aborter); the subtests that need them are
// skipped, saying so,
// where they are absent.
package kerneltest
