package kerneltest

import "testing"

// clause is one subtest: a clause of the contract and the check of it.
type clause struct {
	name  string
	claim string // what the clause says, the subtest's first line
	check func(c *checker)
}

// clauses is the contract, clause by clause, in the order of kernel's
// package doc.
var clauses = []clause{
	{"InitialWritable",
		"Registering a stream that has room with write interest reports a writable edge (the initial writable edge).",
		initialWritable},
	{"ReadableAtRegister",
		"Registering with read interest a stream that already holds data, a FIN or an error reports a readable event.",
		readableAtRegister},
	{"DrainToWouldBlock",
		"After a readable event, reading until ErrWouldBlock is enough to be sure of the next readable edge, so every byte arrives however the stream is fed.",
		drainToWouldBlock},
	{"DrainByShortRead",
		"After a readable event, a Read that returns fewer bytes than its buffer holds is enough to be sure of the next readable edge, so every byte arrives to a reader that stops at short reads; a FIN or reset that came with the bytes is announced by a hint on their event, or by an edge of its own.",
		drainByShortRead},
	{"WouldBlock",
		"Read with nothing to read and Accept with nothing pending return ErrWouldBlock and no data, never block and never fail.",
		wouldBlock},
	{"PeerFIN",
		"A peer's FIN gives a readable event carrying the ReadyReadClosed hint, and Read returns every byte sent before it, then io.EOF.",
		peerFIN},
	{"PeerReset",
		"A peer's reset gives a readable event carrying the ReadyError hint; Read then fails, and so does Write (EPIPE or ECONNRESET, no SIGPIPE).",
		peerReset},
	{"ResetHintWriteInterest",
		"A reset gives an event carrying ReadyError on a stream registered for writing only too (kqueue: EV_EOF with the error in fflags on the write filter).",
		resetHintWriteInterest},
	{"WritableAfterWouldBlock",
		"After a Write returned ErrWouldBlock, a writable event comes once the peer has made room, while write interest is registered; every byte Write counted reaches the peer in order.",
		writableAfterWouldBlock},
	{"WriteAfterPeerClose",
		"Writing to a connection the peer has closed fails with EPIPE or ECONNRESET and never raises SIGPIPE.",
		writeAfterPeerClose},
	{"WriteBatch",
		"BatchWriter.WriteBatch, where the kernel offers it, makes each write as Writev would on its stream and reports it in its element: the bytes reach each peer in order, a stream's second write follows its first, an empty write succeeds with 0, and a write to a stream of no kernel fails alone.",
		writeBatch},
	{"WriteBatchWouldBlock",
		"After a batch write returned ErrWouldBlock, a writable event comes once the peer has made room, as after Write; every byte the batches counted reaches the peer in order.",
		writeBatchWouldBlock},
	{"WriteBatchBroken",
		"A batch write to a reset peer fails with EPIPE or ECONNRESET and never raises SIGPIPE, and the batch's other writes are made.",
		writeBatchBroken},
	{"CloseWrite",
		"CloseWrite sends a FIN after what was written, and reading stays possible.",
		closeWrite},
	{"Writev",
		"VectorWriter.Writev writes its buffers in order and counts what it wrote, as Write does.",
		writev},
	{"ReregisterWritable",
		"Reregister with write interest reports a writable edge again on a stream with room, and events carry the new token, never the old.",
		reregisterWritable},
	{"ReregisterKeepsRead",
		"Reregister with read interest reports a readable event for data or a FIN already there, also when read interest was registered before.",
		reregisterKeepsRead},
	{"Deregister",
		"After Deregister returns, no event for the source is reported; the source stays usable and can be registered again.",
		deregister},
	{"NotRegistered",
		"A registration belongs to the source: Reregister and Deregister of a source that is not registered (never, no longer, or a new source on the number of a closed one) fail with ENOENT, Register of a registered one with EEXIST.",
		notRegistered},
	{"CloseDropsPending",
		"Close removes the registration: edges pending for a source when it closes are never reported.",
		closeDropsPending},
	{"ReservedToken",
		"A kernel that keeps ReservedToken for itself rejects its registration and never reports it; one that does not treats it as any token.",
		reservedToken},
	{"TokensRoundTrip",
		"Tokens come back exactly as registered, all 64 bits.",
		tokensRoundTrip},
	{"AcceptDrain",
		"A listener with pending connections is readable, also at registration; after a readable event, accepting until ErrWouldBlock is enough to be sure of the next edge.",
		acceptDrain},
	{"PollTimeout",
		"Poll waits at most its timeout: 0 does not wait, a positive timeout ends with (0, nil) when nothing is ready, a negative one returns a pending event; Now never goes back.",
		pollTimeout},
	{"PollBatchSize",
		"Poll fills at most len(events), and edges that do not fit stay pending for a later Poll.",
		pollBatchSize},
	{"Interrupted",
		"Poll may return ErrInterrupted, only with n == 0, and an interrupted Poll loses no pending edge.",
		interrupted},
	{"UnackedBytes",
		"UnackedCounter.UnackedBytes counts what was written and not acknowledged: 0 on a fresh stream, more than 0 while the peer does not read, 0 once the peer has every byte and the FIN.",
		unackedBytes},
	{"AckedSurvivesReset",
		"Bytes the peer acknowledged survive a reset: after CloseWrite and UnackedBytes reporting 0, closing with input unread does not stop the peer reading every byte.",
		ackedSurvivesReset},
	{"Abort",
		"Aborter.Abort closes at once with a reset: the registration goes, and the peer reads a prefix of what was written, then ECONNRESET, not io.EOF.",
		abort},
	{"SpuriousEvents",
		"Among spurious events (not-ready sources, stale or unknown tokens, duplicates) every guaranteed edge still comes, and operations after a spurious event return ErrWouldBlock.",
		spuriousEvents},
}

// Run checks the kernel that mk makes against every clause of the contract
// in package kernel, one subtest per clause: InitialWritable,
// ReadableAtRegister, DrainToWouldBlock, DrainByShortRead, WouldBlock,
// PeerFIN, PeerReset, ResetHintWriteInterest, WritableAfterWouldBlock,
// WriteAfterPeerClose, WriteBatch, WriteBatchWouldBlock, WriteBatchBroken,
// CloseWrite, Writev, ReregisterWritable, ReregisterKeepsRead, Deregister,
// NotRegistered, CloseDropsPending, ReservedToken, TokensRoundTrip,
// AcceptDrain, PollTimeout, PollBatchSize, Interrupted, UnackedBytes,
// AckedSurvivesReset, Abort and SpuriousEvents.
// Each subtest logs the clause it checks first, so a failure names it.
//
// mk is called once per subtest, with that subtest's t, and must return a
// fresh harness; it registers the cleanup of what it made with t.Cleanup.
func Run(t *testing.T, mk func(t *testing.T) Harness) {
	for _, cl := range clauses {
		t.Run(cl.name, func(t *testing.T) {
			t.Log(cl.claim)
			cl.check(newChecker(t, mk(t)))
		})
	}
}
