package peer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/mobsim/mobsim/internal/live"
	"github.com/mobsim/mobsim/netrec"
)

// The "mob-record" peers are "mob" with its seam recorded (cmd/mob
// -record), to a file in a temporary directory removed on Close, so that
// the benchmark measures what recording costs the live server in the same
// run as the bare one: "mob-record" as cmd/mob records by default (write
// counts, a CRC on one write in 64), "mob-record-digests" with a CRC of
// every write, "mob-record-contents" with every byte written.

// recordSizeMax caps a benchmark's recording: far more than a run writes.
const recordSizeMax = 16 << 30

// recordMode is the write mode an impl name asks for; ok is false for a
// name that is not a mob-record peer.
func recordMode(impl string) (m netrec.WriteMode, ok bool) {
	rest, ok := strings.CutPrefix(impl, "mob-record")
	switch {
	case !ok:
		return 0, false
	case rest == "":
		return netrec.WriteCounts, true
	case strings.HasPrefix(rest, "-"):
		m, err := netrec.ParseWriteMode(rest[1:])
		return m, err == nil
	}
	return 0, false
}

// recording is a mob peer's recording: where it is, and its file opened
// again for its size, which Stats reads without allocating (fstat into a
// kept buffer), so the allocation counts stay the server's own.
type recording struct {
	dir  string
	f    *os.File
	mu   sync.Mutex // guards st
	st   syscall.Stat_t
	conf *live.Record
}

func newRecording(mode netrec.WriteMode) (*recording, error) {
	dir, err := os.MkdirTemp("", "mob-record-")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "bench.rec")
	return &recording{dir: dir, conf: &live.Record{Path: path, BytesMax: recordSizeMax, Writes: mode,
		DigestEvery: live.DefaultDigestEvery, Program: "bench"}}, nil
}

// opened opens the recording for its size once the loop has created it.
func (r *recording) opened() error {
	f, err := os.Open(r.conf.Path)
	if err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	r.f = f
	return nil
}

// bytes is the size of the recording on disk (the blocks written so far).
func (r *recording) bytes() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := syscall.Fstat(int(r.f.Fd()), &r.st); err != nil {
		return 0
	}
	return uint64(r.st.Size)
}

func (r *recording) remove() error {
	if r.f != nil {
		r.f.Close()
	}
	return os.RemoveAll(r.dir)
}
