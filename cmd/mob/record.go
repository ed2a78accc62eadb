package main

import (
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/mobsim/mobsim/internal/live"
	"github.com/mobsim/mobsim/netrec"
)

// recordOptions are the -record flags.
type recordOptions struct {
	path        string
	bytesMax    int64
	writes      netrec.WriteMode
	digestEvery int
}

// recordBytesMaxDefault caps a recording at 1 GiB unless told otherwise.
const recordBytesMaxDefault = 1 << 30

// writeModeValue adapts netrec.WriteMode to flag.Value.
type writeModeValue struct{ m *netrec.WriteMode }

func (v writeModeValue) String() string {
	if v.m == nil {
		return ""
	}
	return v.m.String()
}

func (v writeModeValue) Set(s string) error {
	m, err := netrec.ParseWriteMode(s)
	if err != nil {
		return err
	}
	*v.m = m
	return nil
}

// addRecordFlags declares the -record flags on fs.
func addRecordFlags(fs *flag.FlagSet, r *recordOptions) {
	r.bytesMax, r.writes, r.digestEvery = recordBytesMaxDefault, netrec.WriteCounts, live.DefaultDigestEvery
	fs.StringVar(&r.path, "record", "", "record every call the server makes to the kernel, with its result, to this `file`, for mobsim -replay; "+
		"it holds every byte the clients send, so it is off unless asked, created 0600, and never written over an existing file; empty: no recording")
	fs.Var(size64Value{&r.bytesMax}, "record-bytes-max", "cap of the recording in `bytes`; past it the file says where it stopped and the server goes on unrecorded")
	fs.Var(writeModeValue{&r.writes}, "record-writes", "what the recording keeps of each write, a `mode`: counts (the kernel's answer, all a replay needs; the cheapest), digests (a CRC-32C of every write) or contents (every byte)")
	fs.IntVar(&r.digestEvery, "record-digest-every", r.digestEvery, "with -record-writes counts, a CRC-32C of one write in this `count`, so a replay compares a sample byte for byte; 0: none")
}

// check reports -record flags that make no sense: limits out of range, or
// any -record-* flag without -record.
func (r *recordOptions) check(fs *flag.FlagSet) []error {
	var errs []error
	if r.path == "" {
		fs.Visit(func(f *flag.Flag) {
			if strings.HasPrefix(f.Name, "record-") {
				errs = append(errs, fmt.Errorf("-%s needs -record FILE", f.Name))
			}
		})
		return errs
	}
	if r.bytesMax < 4<<10 {
		errs = append(errs, fmt.Errorf("-record-bytes-max is %d; it must be at least 4KiB (the header and the stop record)", r.bytesMax))
	}
	if r.digestEvery < 0 {
		errs = append(errs, fmt.Errorf("-record-digest-every is %d; it must be 0 (none) or more", r.digestEvery))
	}
	return errs
}

// live is the runner's recording, or nil without -record.
func (r *recordOptions) live() *live.Record {
	if r.path == "" {
		return nil
	}
	return &live.Record{Path: r.path, BytesMax: r.bytesMax, Writes: r.writes, DigestEvery: r.digestEvery, Program: "mob"}
}

// logRecording says how the recording ended, once the loop has stopped.
func logRecording(log *slog.Logger, path string, rs netrec.RecorderStats) {
	attrs := []any{"file", path, "records", rs.Records, "bytes", rs.Bytes}
	switch {
	case rs.Err != nil:
		log.Error("recording failed", append(attrs, "err", rs.Err)...)
	case rs.StopReason != 0:
		log.Warn("recording stopped early", append(attrs, "reason", rs.StopReason, "detail", rs.StopText)...)
	default:
		log.Info("recording closed", append(attrs, "replay", "mobsim -replay "+path)...)
	}
}
