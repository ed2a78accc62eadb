// Package echo is an edge-triggered echo server written against package
// kernel alone: every byte a client sends comes back to it. It is mio's
// classic test server, and here it shows that the seam and its two
// kernels are not mob's alone: the same code runs live on netpoll
// (live_test.go) and on netfake under a seeded test (netfake_test.go),
// which is the README's guide "Test your own event loop with netfake".
//
// It keeps the discipline the seam's contract asks for: it accepts until
// ErrWouldBlock; after a readable edge it reads until ErrWouldBlock, io.EOF
// or an error, and remembers that it has not seen ErrWouldBlock yet when
// it stops early for backpressure (PendingBytesMax), so it resumes reading
// once it has written; it registers write interest once and waits for the
// writable edge the contract promises after ErrWouldBlock. It reads from a
// connection at once after accepting it, so it needs no readable edge at
// registration. It starts no goroutine and reads no clock: on netfake it
// is as deterministic as the kernel.
package echo
