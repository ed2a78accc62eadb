package netrec_test

import (
	"bytes"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/mobsim/mobsim/netrec"
	"github.com/mobsim/mobsim/server"
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
		data, live := recordSession(t, seed, 600, netrec.Options{})
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
			k := a.kernel
			if k.read != live.BytesIn || k.wrote != writtenBytes(t, data) || k.wrote < live.BytesOut ||
				uint64(k.accepted) != live.Accepted || k.resets == 0 {
				t.Errorf("seed %d: the kernel observer was told %+v; the core counted %d in, %d out, %d accepted",
					seed, k, live.BytesIn, live.BytesOut, live.Accepted)
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

// With WriteDigests the log keeps a CRC of each write instead of its bytes:
// the session replays with zero divergence all the same, the kernel
// observer still gets every byte written (the replayed core's), and the log
// is smaller by what the server fanned out.
func TestRoundTripDigests(t *testing.T) {
	full, live := recordSession(t, 1, 600, netrec.Options{})
	data := recordReplays(t, full, live, netrec.Options{Writes: netrec.WriteDigests})
	if !bytes.Contains(dump(t, data), []byte(" crc=0x")) {
		t.Error("the listing shows no digest")
	}
	t.Logf("%d bytes with contents, %d with digests (%d written by the server)", len(full), len(data), live.BytesOut)
	if len(data) >= len(full)-int(live.BytesOut)/2 {
		t.Errorf("digests saved %d bytes of %d written", len(full)-len(data), live.BytesOut)
	}
	runErr, err := replayCore(t, data, sessionConfig(), flipAt(5))
	var d *netrec.Divergence
	if !errors.As(err, &d) || d.Got.Op != netrec.OpWrite || !strings.Contains(d.Detail, "CRC-32C") || !errors.Is(runErr, netrec.ErrDiverged) {
		t.Errorf("a flipped byte under digests: %v", err)
	}
}

// Recording the same seed twice gives the same bytes: the recorder adds
// nothing of its own (no clock, no addresses), so a recording is a
// function of the calls.
func TestRecordingDeterministic(t *testing.T) {
	a, _ := recordSession(t, 7, 200, netrec.Options{})
	b, _ := recordSession(t, 7, 200, netrec.Options{})
	if !bytes.Equal(a, b) {
		t.Fatal("two recordings of one seed differ")
	}
}

// With WriteCounts the log keeps each write's count, and a CRC on a
// sample: the session replays with zero divergence, the kernel observer
// still gets every byte the replayed core wrote, the log is no larger than
// with digests, and a core whose writes carry other bytes is caught at the
// first sampled write it changed. Without a sample the replay alone cannot
// see such a core; what it wrote still reaches the hooks, and the oracle
// checks it against the frames read (sim.Replay).
func TestRoundTripCounts(t *testing.T) {
	full, live := recordSession(t, 1, 600, netrec.Options{})
	digests, _ := recordSession(t, 1, 600, netrec.Options{Writes: netrec.WriteDigests})
	for _, every := range []int{0, 4} {
		data := recordReplays(t, full, live, netrec.Options{Writes: netrec.WriteCounts, DigestEvery: every})
		t.Logf("every %d: %d bytes with counts, %d with digests, %d with contents", every, len(data), len(digests), len(full))
		if len(data) > len(digests) {
			t.Errorf("every %d: counts take %d bytes, digests %d", every, len(data), len(digests))
		}
		runErr, err := replayCore(t, data, sessionConfig(), flipAt(5))
		var d *netrec.Divergence
		switch every {
		case 0:
			if err != nil {
				t.Errorf("a flipped byte with no digest to see it: %v", err)
			}
		default:
			if !errors.As(err, &d) || d.Got.Op != netrec.OpWrite && d.Got.Op != netrec.OpWritev ||
				!strings.Contains(d.Detail, "CRC-32C") || !errors.Is(runErr, netrec.ErrDiverged) {
				t.Errorf("a flipped byte with a digest every %d writes: %v", every, err)
			}
		}
	}
}

// recordReplays records seed 1's session with opt and replays it: the mode
// must not change the live run (live, as recorded with contents in full),
// and the replay must end with the live counters, its kernel observer told
// every byte written. It returns the recording.
func recordReplays(t *testing.T, full []byte, live server.Stats, opt netrec.Options) []byte {
	t.Helper()
	data, live2 := recordSession(t, 1, 600, opt)
	if live != live2 {
		t.Fatalf("%v: the recorder's mode changed the live run", opt.Writes)
	}
	res := replaySession(t, data, netrec.ReplayOptions{MatchNotes: true})
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.stats != live || res.kernel.wrote != writtenBytes(t, full) {
		t.Errorf("%v: replay ends with %+v, wrote %d; live %+v", opt.Writes, res.stats, res.kernel.wrote, live)
	}
	return data
}

// A core that writes batches (kernel.BatchWriter: the fan-out of a tick in
// one call) is recorded batch by batch and replayed with WriteBatch too,
// in every write mode: zero divergence, the live counters, every byte the
// core wrote told to the kernel observer; a recording of the same session
// given no WriteBatch has no write-batch record. A core whose batch
// carries other bytes is caught at that write (contents and digests
// compare every byte).
func TestRoundTripBatches(t *testing.T) {
	plain, _ := recordSession(t, 2, 400, netrec.Options{})
	for _, mode := range []netrec.WriteMode{netrec.WriteContents, netrec.WriteDigests, netrec.WriteCounts} {
		data, live := recordSessionOn(t, 2, 400, netrec.Options{Writes: mode, DigestEvery: 3}, true)
		if live.WriteBatches == 0 {
			t.Fatalf("%v: the core made no batch", mode)
		}
		res := replaySession(t, data, netrec.ReplayOptions{MatchNotes: true})
		if res.err != nil {
			t.Fatalf("%v: %v", mode, res.err)
		}
		if res.stats != live || res.kernel.wrote != writtenBytes(t, data) {
			t.Errorf("%v: replay ends with %+v, observer told %d bytes; live %+v", mode, res.stats, res.kernel.wrote, live)
		}
		if !bytes.Contains(res.trace, []byte(" write-batch k=")) {
			t.Errorf("%v: the trace has no write-batch record", mode)
		}
		if mode == netrec.WriteCounts {
			continue
		}
		_, err := replayCoreOn(t, data, sessionConfig(), flipAt(5), true)
		var d *netrec.Divergence
		if !errors.As(err, &d) || d.Got.Op != netrec.OpWriteBatch || !strings.Contains(d.Detail, "of the batch") {
			t.Errorf("%v: a flipped byte in a batch: %v", mode, err)
		}
	}
	if bytes.Contains(dump(t, plain), []byte("write-batch")) {
		t.Error("a core given no WriteBatch made one")
	}
}
