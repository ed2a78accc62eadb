package netrec_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mobsim/mobsim/netrec"
)

// lastRecord returns a recording's final record, as text.
func lastRecord(t *testing.T, data []byte) (netrec.Op, string) {
	t.Helper()
	var op netrec.Op
	var text string
	eachRecord(t, data, func(rec *netrec.Record) { op, text = rec.Op, rec.String() })
	return op, text
}

// The size cap stops recording with a stop record that says where and why,
// the file never passes the cap, and the server goes on serving: frames
// keep flowing after the stop, and a replay of the capped recording covers
// it up to the stop with zero divergence. At the boundary, a cap just
// above what a whole session needs does not stop it.
func TestSizeCap(t *testing.T) {
	full, _ := recordSession(t, 4, 300, netrec.Options{})
	for _, limit := range []int64{2000, 20_000, int64(len(full)) / 2} {
		var buf bytes.Buffer
		s := newSession(t, 4, &buf, netrec.Options{LogBytesMax: limit, BlockBytes: 1 << 10})
		var at uint64
		for i := range 300 {
			s.step()
			if st := s.rec.Stats(); st.Stopped && at == 0 {
				at = uint64(i)
			}
		}
		framesAtStop := s.srv.Stats().FramesOut
		for range 100 {
			s.step()
		}
		s.finish()
		st := s.rec.Stats()
		if !st.Stopped || st.StopReason != netrec.StopSizeCap || st.Err != nil {
			t.Fatalf("cap %d: stats %+v", limit, st)
		}
		if int64(buf.Len()) > limit || st.Bytes != int64(buf.Len()) {
			t.Errorf("cap %d: recording is %d bytes (stats say %d)", limit, buf.Len(), st.Bytes)
		}
		if s.srv.Stats().FramesOut <= framesAtStop {
			t.Errorf("cap %d: no frame delivered after recording stopped", limit)
		}
		op, text := lastRecord(t, buf.Bytes())
		if op != netrec.OpStop || !strings.Contains(text, "LogBytesMax") || !strings.Contains(text, "size-cap") {
			t.Errorf("cap %d: last record %q", limit, text)
		}
		res := replaySession(t, buf.Bytes(), netrec.ReplayOptions{})
		if res.err != nil || !strings.HasPrefix(res.summary.End, "stop: size-cap") {
			t.Errorf("cap %d: replay %v, summary %+v", limit, res.err, res.summary)
		}
		t.Logf("cap %d: stopped at session step %d, record %d: %s", limit, at, st.Records-1, text)
	}

	// Just enough for the whole session and the reserve kept for the stop
	// record: no stop. The recording is the same bytes as an uncapped one.
	var buf bytes.Buffer
	s := newSession(t, 4, &buf, netrec.Options{LogBytesMax: int64(len(full)) + 256})
	for range 300 {
		s.step()
	}
	s.finish()
	if st := s.rec.Stats(); st.StopReason != 0 || !bytes.Equal(buf.Bytes(), full) {
		t.Errorf("cap above the session's size: stats %+v, %d bytes of %d", st, buf.Len(), len(full))
	}

	// A cap that cannot hold the header is refused up front.
	_, err := netrec.NewRecorder(io.Discard, &scriptKernel{}, netrec.Options{LogBytesMax: 100})
	if err == nil || !strings.Contains(err.Error(), "LogBytesMax (100 bytes)") {
		t.Errorf("tiny cap: %v", err)
	}
}

// Create makes the file 0600 and refuses to write over an existing one:
// a recording holds what the clients said.
func TestCreateFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec")
	rec, err := netrec.Create(path, &scriptKernel{}, netrec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := netrec.Create(path, &scriptKernel{}, netrec.Options{}); !errors.Is(err, os.ErrExist) {
		t.Errorf("second Create: %v, want an exists error", err)
	}
	rp, err := netrec.Open(path, netrec.ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	if _, err := rp.Finish(); err != nil {
		t.Errorf("empty recording: %v", err)
	}
}
