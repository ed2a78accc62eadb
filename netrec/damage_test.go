package netrec_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"testing"

	"github.com/mobsim/mobsim/netrec"
	"github.com/mobsim/mobsim/server"
)

// readAll iterates a recording to its end and returns the first error
// (nil when it ends with its end or stop record).
func readAll(data []byte) (records int, err error) {
	rd, err := netrec.NewReader(bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	for {
		_, err := rd.Next()
		if err == io.EOF {
			return records, nil
		}
		if err != nil {
			return records, err
		}
		records++
	}
}

// smallRecording is a short session of the given steps, in blocks of 512
// bytes.
func smallRecording(t testing.TB, steps int) []byte {
	t.Helper()
	var buf bytes.Buffer
	s := newSession(t, 5, &buf, netrec.Options{BlockBytes: 512})
	for range steps {
		s.step()
	}
	s.finish()
	return buf.Bytes()
}

// A recording cut at any byte gives a clear error, never a panic: before
// the header, "not a recording" or "truncated"; after it, "truncated", with
// every record of the complete blocks before the cut still read.
func TestTruncatedRecording(t *testing.T) {
	data := smallRecording(t, 40)
	whole, err := readAll(data)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(data) {
		got, err := readAll(data[:n])
		switch {
		case err == nil:
			t.Fatalf("cut at %d of %d bytes: no error", n, len(data))
		case n < 6 && !errors.Is(err, netrec.ErrNotRecording):
			t.Fatalf("cut at %d: %v, want ErrNotRecording", n, err)
		case n >= 6 && !errors.Is(err, netrec.ErrTruncated):
			t.Fatalf("cut at %d: %v, want ErrTruncated", n, err)
		case got > whole:
			t.Fatalf("cut at %d: %d records, more than the whole %d", n, got, whole)
		}
	}
	// A replay of a cut recording runs up to the cut and says so.
	cut := data[:len(data)*2/3]
	rp, err := netrec.NewReplayer(bytes.NewReader(cut), netrec.ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := rp.Listener()
	srv, err := server.New(rp, ln, sessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	runErr := srv.Run(rp.Stop)
	sum, err := rp.Finish()
	if err != nil || sum.End != "truncated" || !errors.Is(runErr, netrec.ErrTruncated) {
		t.Fatalf("replay of a cut recording: run %v, finish %v %+v", runErr, err, sum)
	}
	if !strings.Contains(runErr.Error(), "offset") {
		t.Errorf("truncation error %q does not say where", runErr)
	}
}

// Any one byte changed anywhere gives an error: the magic, the version, a
// block's length or checksum, or a record (caught by the block's CRC before
// the record is used).
func TestCorruptRecording(t *testing.T) {
	data := smallRecording(t, 40)
	for i := range data {
		bad := bytes.Clone(data)
		bad[i] ^= 0x5a
		if _, err := readAll(bad); err == nil {
			t.Fatalf("byte %d of %d changed: no error", i, len(data))
		} else if !errors.Is(err, netrec.ErrCorrupt) && !errors.Is(err, netrec.ErrTruncated) &&
			!errors.Is(err, netrec.ErrNotRecording) && !errors.Is(err, netrec.ErrVersion) {
			t.Fatalf("byte %d changed: %v is none of the damage errors", i, err)
		}
	}
}

// A recording of another format version is refused, naming both versions.
func TestOtherVersionRefused(t *testing.T) {
	data := smallRecording(t, 40)
	bad := bytes.Clone(data)
	bad[6] = netrec.FormatVersion + 1 // the uvarint after the magic
	_, err := netrec.NewReplayer(bytes.NewReader(bad), netrec.ReplayOptions{})
	var v *netrec.VersionError
	if !errors.As(err, &v) || !errors.Is(err, netrec.ErrVersion) {
		t.Fatalf("got %v, want a version error", err)
	}
	want := fmt.Sprintf("recording format version %d; this build reads version %d only", netrec.FormatVersion+1, netrec.FormatVersion)
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("%q does not say %q", err, want)
	}
}

// withPayload wraps records as the payload of one valid block after a
// valid header, so a fuzzer's bytes reach the record decoder and the replay
// instead of stopping at the checksum.
func withPayload(header, payload []byte) []byte {
	out := bytes.Clone(header)
	out = binary.AppendUvarint(out, uint64(len(payload)))
	out = binary.LittleEndian.AppendUint32(out, crc32.Checksum(payload, crc32.MakeTable(crc32.Castagnoli)))
	return append(out, payload...)
}

// headerOf returns the magic, version and header block of a recording.
func headerOf(t testing.TB, data []byte) []byte {
	t.Helper()
	n, k := binary.Uvarint(data[7:])
	if k <= 0 {
		t.Fatal("no header block")
	}
	return data[:7+k+4+int(n)]
}

// FuzzReplay feeds arbitrary bytes to the reader and to a replay of the
// real core, both raw and as the records of a valid block: whatever the
// input, the answer is records or an error, never a panic or a hang. The
// seeds are small (a session of 12 steps) so that minimizing stays quick.
func FuzzReplay(f *testing.F) {
	data := smallRecording(f, 12)
	hdr := headerOf(f, data)
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add(data[len(hdr):])
	f.Add(bytes.Replace(data, []byte("says"), []byte("SAYS"), 1))
	f.Add([]byte("MOBREC\x01"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, rec := range [][]byte{in, withPayload(hdr, in)} {
			if rd, err := netrec.NewReader(bytes.NewReader(rec)); err == nil {
				for r, err := rd.Next(); err == nil; r, err = rd.Next() {
					_ = r.String()
				}
			}
			rp, err := netrec.NewReplayer(bytes.NewReader(rec), netrec.ReplayOptions{MatchNotes: true,
				OnRecord: func(r *netrec.Record) { _ = r.String() }})
			if err != nil {
				continue
			}
			ln, err := rp.Listener()
			if err != nil {
				continue
			}
			cfg := sessionConfig()
			cfg.Observer = netrec.Observer[server.CloseReason]{N: rp}
			srv, err := server.New(rp, ln, cfg)
			if err != nil {
				continue
			}
			srv.Run(rp.Stop)
			if _, err := rp.Finish(); err != nil {
				_ = err.Error()
			}
		}
	})
}

// Records that pass their block's checksum but break the format's rules
// (as a buggy writer or a crafted file would make) are refused as corrupt,
// with the rule named, before a replay can act on them.
func TestMalformedRecords(t *testing.T) {
	hdr := headerOf(t, smallRecording(t, 40))
	u := func(vs ...uint64) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.AppendUvarint(b, v)
		}
		return b
	}
	listen := func(rest ...uint64) []byte { return append(u(1, 1), u(rest...)...) } // listen #1, then rest
	cases := []struct {
		name    string
		payload []byte
		want    string
	}{
		{"unknown op", u(200), "unknown op 200"},
		{"source never created", listen(5, 9, 16, 0, 0), "read names source 9, never created"},
		{"ids out of order", u(1, 3), "new source id 3; the next is 1"},
		{"read longer than its buffer", listen(5, 1, 4, 5), "count 5 over its bound 4"},
		{"error code out of range", listen(9, 1, 200<<1), "error code 200"},
		{"text error without text", listen(9, 1, 5<<1), "error without text"},
		{"end miscounts", listen(16, 7), "end record counts 7 records; 1 precede it"},
		{"record cut by its block", listen(5, 1, 100, 50), "record runs past its block"},
		{"bytes after the end", listen(16, 1, 3), "1 bytes after the end record"},
		{"poll with more events than room", u(3, 1, 2, 3), "count 3 over its bound"},
	}
	for _, tc := range cases {
		_, err := readAll(withPayload(hdr, tc.payload))
		if !errors.Is(err, netrec.ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want corrupt: %q", tc.name, err, tc.want)
		}
	}
}
