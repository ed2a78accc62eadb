package live

import (
	"bytes"
	"fmt"

	"github.com/mobsim/mobsim/internal/recfile"
	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netpoll"
	"github.com/mobsim/mobsim/netrec"
	"github.com/mobsim/mobsim/server"
)

// Record says where and how to record the server's every seam call
// (package netrec), for mobsim -replay.
type Record struct {
	Path        string           // the recording, created 0600; an existing file is refused
	BytesMax    int64            // the size cap (netrec.Options.LogBytesMax); 0: netrec's default
	Writes      netrec.WriteMode // what a write record keeps of the bytes
	DigestEvery int              // with netrec.WriteCounts, a CRC on every this many writes; 0: none
	Program     string           // who records ("mob", "mobsoak"), for the header
}

// DefaultDigestEvery is the sample of write digests the live tools take:
// one write in 64 is checked byte for byte by its CRC, which costs the
// server about a sixty-fourth of what a digest on every write costs.
const DefaultDigestEvery = 64

// recording is the core's seam as Listen builds it: the recorder straight
// under the core, so that it sees the calls the core made (the timeouts it
// asked, the buffers it gave) and a replay can hold the core to them. Any
// other wrapper of the kernel goes under the recorder, never above it. The
// core gets the poller's batched writes through it (io_uring or writev,
// as unrecorded), each batch recorded.
type recording struct {
	rec   *netrec.Recorder
	given server.Config // the recorded config, checked against the one in force
}

// startRecording creates the recording and wraps the kernel and the
// listener in it; the core's membership claims go to the recording as
// notes too (not its frame claims: one a frame is the notes' largest
// share, and the reads say it all).
func startRecording(r *Record, poller *netpoll.Poller, ln kernel.Listener, cfg *Config) (*recording, kernel.Poller, kernel.Listener, error) {
	blob, err := recfile.Encode(recfile.Core{Program: r.Program, Server: cfg.Server, Bugs: cfg.Bugs,
		Writes: r.Writes.String(), DigestEvery: r.DigestEvery})
	if err != nil {
		return nil, nil, nil, err
	}
	rec, err := netrec.Create(r.Path, poller, netrec.Options{Config: blob, LogBytesMax: r.BytesMax,
		Writes: r.Writes, DigestEvery: r.DigestEvery, Batches: true})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("record: %w", err)
	}
	cfg.Server.Observer = netrec.Observer[server.CloseReason]{N: rec, Then: cfg.Server.Observer, SkipFrames: true}
	return &recording{rec: rec, given: cfg.Server}, rec.Poller(), rec.Listener(ln), nil
}

// check holds the recorded config to the one in force: a field left zero
// takes its default inside server.New, and the recording would then not
// say how the core ran.
func (r *recording) check(srv *server.Server) error {
	inForce, err := recfile.Encode(recfile.Core{Server: srv.Config()})
	if err != nil {
		return err
	}
	if given, _ := recfile.Encode(recfile.Core{Server: r.given}); !bytes.Equal(given, inForce) {
		return fmt.Errorf("record: the server's config in force is not the one recorded (a zero field took its default): give every field, from server.DefaultConfig")
	}
	return nil
}
