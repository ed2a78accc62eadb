package netrec_test

import (
	"testing"

	"github.com/mobsim/mobsim/netrec"
)

// The closing capabilities cross the seam like any call: a stream that
// has UnackedBytes and Abort is recorded as having them (the accept's
// flags), each call is recorded with its result, and the replay hands the
// core streams with the same capabilities and the recorded answers, so a
// core that closes once its peer acknowledged everything, and evicts
// abortively, replays without divergence. Without them in the recording
// the replayed core would close where the live one aborted (or never ask
// for acknowledgements), and the replay would diverge at that call.
func TestRoundTripClosingCalls(t *testing.T) {
	data, live := recordSession(t, 1, 600, netrec.Options{})
	var closing, unacked, aborts int
	eachRecord(t, data, func(rec *netrec.Record) {
		switch {
		case rec.Op == netrec.OpAccept && rec.Err == nil && rec.Closing:
			closing++
		case rec.Op == netrec.OpUnacked:
			unacked++
		case rec.Op == netrec.OpAbort:
			aborts++
		}
	})
	t.Logf("%d streams with UnackedBytes and Abort, %d UnackedBytes calls, %d aborts", closing, unacked, aborts)
	if closing == 0 || unacked == 0 || aborts == 0 {
		t.Fatalf("the session made %d closing streams, %d UnackedBytes calls and %d aborts: it tests nothing", closing, unacked, aborts)
	}
	res := replaySession(t, data, netrec.ReplayOptions{MatchNotes: true})
	if res.err != nil {
		t.Fatalf("replay: %v", res.err)
	}
	if res.stats.AckChecks != live.AckChecks || res.stats.Closed != live.Closed {
		t.Fatalf("replayed %d ack checks and closes %v; live %d and %v", res.stats.AckChecks, res.stats.Closed, live.AckChecks, live.Closed)
	}
}
