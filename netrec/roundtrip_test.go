package netrec_test

import (
	"bytes"
	"syscall"
	"testing"

	"github.com/mobsim/mobsim/netrec"
)

var (
	errnoReset   = syscall.ECONNRESET
	errnoPipe    = syscall.EPIPE
	errnoAborted = syscall.ECONNABORTED
	errnoMFile   = syscall.EMFILE
	errnoNotConn = syscall.ENOTCONN
)

// A recorded session of the real core on netfake replays against a fresh
// core with zero divergence, twice, and the replay's trace is byte for byte
// the recording's own listing. The session is rich enough to matter: the
// test checks that it made every kind of record and every error the core
// distinguishes, and that the replayed core ends with the live core's
// counters (so the replay did not merely match calls, it rebuilt the state).
func TestRoundTripNetfake(t *testing.T) {
	allOps, allErrs := map[netrec.Op]int{}, map[string]int{}
	for _, seed := range []uint64{1, 2, 3} {
		data, live := recordSession(t, seed, 600)
		ops, errs := opCounts(t, data)
		t.Logf("seed %d: %d bytes, ops %v, errors %v", seed, len(data), ops, errs)
		for op, n := range ops {
			allOps[op] += n
		}
		for e, n := range errs {
			allErrs[e] += n
		}
		listing := dump(t, data)
		for i, opt := range []netrec.ReplayOptions{{}, {MatchNotes: true}} {
			a := replaySession(t, data, opt)
			b := replaySession(t, data, opt)
			if a.err != nil {
				t.Fatalf("seed %d replay %d: %v", seed, i, a.err)
			}
			if b.err != nil {
				t.Fatalf("seed %d replay %d, second run: %v", seed, i, b.err)
			}
			if a.summary.End != "end" || a.summary.Steps != uint64(bytes.Count(listing, []byte("\n"))) {
				t.Errorf("seed %d: summary %+v; listing has %d records", seed, a.summary, bytes.Count(listing, []byte("\n")))
			}
			if !bytes.Equal(a.trace, b.trace) {
				t.Errorf("seed %d: two replays traced differently", seed)
			}
			if !bytes.Equal(a.trace, listing) {
				t.Errorf("seed %d: the replay's trace differs from the recording's listing", seed)
			}
			if a.stats != live {
				t.Errorf("seed %d: replayed core ends with\n%+v\nthe live one with\n%+v", seed, a.stats, live)
			}
		}
	}
	for op := netrec.OpListen; op <= netrec.OpEnd; op++ {
		if op == netrec.OpStop || op == netrec.OpReregister || op == netrec.OpDeregister {
			continue // the core never reregisters; a whole session has no stop
		}
		if allOps[op] == 0 {
			t.Errorf("no %v record in any session", op)
		}
	}
	for _, c := range errClasses {
		if allErrs[c.Error()] == 0 {
			t.Errorf("no %q error recorded in any session", c.Error())
		}
	}
}

// Recording the same seed twice gives the same bytes: the recorder adds
// nothing of its own (no clock, no addresses), so a recording is a
// function of the calls.
func TestRecordingDeterministic(t *testing.T) {
	a, _ := recordSession(t, 7, 200)
	b, _ := recordSession(t, 7, 200)
	if !bytes.Equal(a, b) {
		t.Fatal("two recordings of one seed differ")
	}
}
