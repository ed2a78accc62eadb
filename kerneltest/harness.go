package kerneltest

import "github.com/mobsim/mobsim/kernel"

// Harness is what a kernel under test gives the suite: one poller, the
// listeners and peers to make streams with, and a way to let transmission
// and time pass. Run asks mk for a new one per subtest; the harness closes
// its poller (and anything else of its own) with t.Cleanup.
type Harness interface {
	// Poller is the poller under test. Every source the suite makes with
	// Listen, and every stream it accepts, can be registered with it.
	Poller() kernel.Poller
	// Listen opens a listening socket in the kernel under test.
	Listen() (kernel.Listener, error)
	// Dial connects a peer to l from outside the server: another process on
	// a simulated kernel, a client socket on a real one. The connection is
	// then pending on l, at once or after Settle.
	Dial(l kernel.Listener) (Peer, error)
	// Settle lets transmission and time pass, so that what either side
	// wrote, shut down or reset reaches the other side: netfake transmits
	// everything that fits, a real kernel waits a moment. The suite never
	// counts on one Settle being enough; it settles and polls in a bounded
	// loop.
	Settle()
}

// Peer is the far end of a connection, driven by the suite. Its methods
// never block: Read and Write return kernel.ErrWouldBlock when they cannot
// make progress, and Read returns io.EOF after the server's FIN.
type Peer interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	// CloseWrite sends a FIN (shutdown(SHUT_WR)).
	CloseWrite() error
	// Abort closes the connection with an RST (SO_LINGER of zero).
	Abort() error
	// Close closes the connection: a FIN, or an RST if it left data unread.
	Close() error
}

// Interrupter is implemented by a harness that can make Poll report an
// interrupted wait (EINTR). While interrupts are on, every Poll may return
// kernel.ErrInterrupted; the Interrupted subtest needs it.
type Interrupter interface {
	SetInterrupts(on bool)
}

// SpuriousInjector is implemented by a harness that can make Poll add
// spurious events (for sources that are not ready, stale or never-used
// tokens, duplicates). The SpuriousEvents subtest needs it.
type SpuriousInjector interface {
	SetSpurious(on bool)
}

// waker is implemented by pollers that can be woken from another goroutine
// (netpoll's Wake); the ReservedToken subtest wakes them, because a wake-up
// is what a kernel's reserved token usually tags.
type waker interface {
	Wake() error
}
