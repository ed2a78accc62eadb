package main

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/mobsim/mobsim/internal/recfile"
	"github.com/mobsim/mobsim/sim"
)

// With -record the child records its server's seam (internal/live's
// Record: the file mobsim -replay runs the core against), and numbers its
// streams by the recording's ids, so that the parent's connection ids are
// the recording's. The parent writes the clients' account beside it
// (recfile.Account, FILE.clients): what the far side of each connection
// sent and read, by count and CRC, which a recording cannot hold and a
// replay checks the recorded side against. A run that found a violation
// keeps both; a clean one deletes them unless -keep-record.

// account is what one client's socket took and returned. The owner
// goroutine writes the sent side (and Reset), the reader goroutine the
// received side; they are read only once both have ended (their ends pass
// through the oracle's mutex).
type account struct {
	Fin, Reset       bool
	sentN, recvN     uint64
	sentCRC, recvCRC uint32
}

func (a *account) sent(p []byte) {
	a.sentN += uint64(len(p))
	a.sentCRC = crc32.Update(a.sentCRC, recfile.CRCTable, p)
}

func (a *account) received(p []byte) {
	a.recvN += uint64(len(p))
	a.recvCRC = crc32.Update(a.recvCRC, recfile.CRCTable, p)
}

var endNames = [...]string{endNone: "none", endEOF: "eof", endPartial: "truncated", endReset: "reset", endLocal: "local"}

// keepAccount takes cc's account for the recording's side file, once its
// client has stopped reading and writing. The caller holds mu.
func (or *oracle) keepAccount(cc *clientConn) {
	if !or.recording || cc.srv == nil || !cc.readerDone || !cc.ownerDone {
		return
	}
	a := &cc.acct
	or.accounts = append(or.accounts, recfile.Account{
		Conn: uint64(cc.srv.serial), Name: fmt.Sprintf("conn %d (%s, %s)", cc.id, cc.beh, cc.addr),
		Sent: a.sentN, SentCRC: a.sentCRC, Received: a.recvN, ReceivedCRC: a.recvCRC,
		End: endNames[cc.end], Fin: a.Fin, Reset: a.Reset, Survivor: cc.survivor,
	})
}

// recordingReport is what became of the recording.
type recordingReport struct {
	path     string
	bytes    int64
	accounts int
	kept     bool
	err      error
}

// settleRecording writes the clients' account beside the recording, then
// keeps both (a violation was found, or -keep-record) or deletes both.
func settleRecording(o options, or *oracle, clean bool) *recordingReport {
	if o.record == "" {
		return nil
	}
	or.mu.Lock()
	accounts := or.accounts
	or.mu.Unlock()
	r := &recordingReport{path: o.record, accounts: len(accounts), kept: !clean || o.keepRecord}
	if fi, err := os.Stat(o.record); err != nil {
		r.err = fmt.Errorf("the server wrote no recording: %w", err)
		return r
	} else {
		r.bytes = fi.Size()
	}
	side := o.record + recfile.AccountSuffix
	if !r.kept {
		r.err = errors.Join(os.Remove(o.record), removeIfThere(side))
		return r
	}
	f, err := os.OpenFile(side, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		r.err = fmt.Errorf("clients' account: %w", err)
		return r
	}
	if err := recfile.WriteAccounts(f, accounts); err != nil {
		f.Close()
		r.err = err
		return r
	}
	r.err = f.Close()
	return r
}

func removeIfThere(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// print says where the recording is and how to replay it, or that it was
// deleted.
func (r *recordingReport) print(w io.Writer, bug string) {
	if r == nil {
		return
	}
	switch {
	case r.err != nil:
		fmt.Fprintf(w, "recording:      %s: %v\n", r.path, r.err)
	case !r.kept:
		fmt.Fprintf(w, "recording:      %s (%.1f MiB) deleted: the run was clean (-keep-record keeps it)\n", r.path, float64(r.bytes)/(1<<20))
	default:
		var names []string
		if bug != "" {
			names = []string{bug}
		}
		fmt.Fprintf(w, "recording:      %s (%.1f MiB), clients' account %s%s (%d connections)\n  replay: %s\n",
			r.path, float64(r.bytes)/(1<<20), r.path, recfile.AccountSuffix, r.accounts, sim.ReplayFileCommand(r.path, names))
	}
}
