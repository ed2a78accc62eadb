package sim

import (
	"bytes"
	"hash/crc32"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mobsim/mobsim/internal/live"
	"github.com/mobsim/mobsim/internal/recfile"
	"github.com/mobsim/mobsim/internal/wire"
	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netrec"
	"github.com/mobsim/mobsim/server"
	"github.com/mobsim/mobsim/timeline"
)

// recordLive runs the live server on loopback, recorded to path in mode,
// while three clients chat (one frame each, the last one half-closes after
// it), stops it, and returns the clients' account of what each sent and
// read, joined to the recording by the stream ids the server's Observer
// saw, and the bytes each read.
func recordLive(t *testing.T, path string, mode netrec.WriteMode) ([]recfile.Account, [][]byte) {
	t.Helper()
	ids := make(chan uint64, 8)
	cfg := server.DefaultConfig()
	cfg.Observer = idObserver(ids)
	l, err := live.Listen(live.Config{Addr: "127.0.0.1:0", Server: cfg,
		Record: &live.Record{Path: path, Writes: mode, DigestEvery: 2, Program: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- l.Serve() }()
	deadline := time.Now().Add(15 * time.Second)
	type cl struct {
		c    *net.TCPConn
		acct recfile.Account
		got  chan []byte
	}
	var cls []*cl
	for i := range 3 {
		c, err := wire.Dial(l.Addr().String(), wire.DialOptions{Timeout: 5 * time.Second, Deadline: deadline})
		if err != nil {
			t.Fatal(err)
		}
		x := &cl{c: c, got: make(chan []byte, 1), acct: recfile.Account{Conn: <-ids, Name: "client " + string(rune('a'+i))}}
		go func() { b, _ := io.ReadAll(c); x.got <- b }()
		cls = append(cls, x)
	}
	for _, x := range cls {
		msg := []byte("hello from " + x.acct.Name + "\n")
		if _, err := x.c.Write(msg); err != nil {
			t.Fatal(err)
		}
		x.acct.Sent, x.acct.SentCRC = uint64(len(msg)), crc32.Checksum(msg, recfile.CRCTable)
	}
	// Everyone has everything (3 frames) before the stop.
	for l.Stats(time.Second).FramesOut < 9 {
		if time.Now().After(deadline) {
			t.Fatal("frames never delivered")
		}
		time.Sleep(time.Millisecond)
	}
	cls[2].c.CloseWrite()
	cls[2].acct.Fin = true
	for l.Stats(time.Second).Conns > 2 {
		time.Sleep(time.Millisecond)
	}
	l.Stop()
	var accounts []recfile.Account
	var received [][]byte
	for _, x := range cls {
		b := <-x.got
		received = append(received, b)
		x.acct.Received, x.acct.ReceivedCRC, x.acct.End = uint64(len(b)), crc32.Checksum(b, recfile.CRCTable), "eof"
		x.c.CloseWrite()
		accounts = append(accounts, x.acct)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	for _, x := range cls {
		x.c.Close()
	}
	return accounts, received
}

// idObserver sends the recording's id of each stream that joins.
type idObserver chan uint64

func (o idObserver) Joined(st kernel.Stream) {
	id, _ := netrec.ID(st)
	o <- id
}
func (idObserver) Left(kernel.Stream, server.CloseReason)   {}
func (idObserver) Closed(kernel.Stream, server.CloseReason) {}
func (idObserver) Frame(kernel.Stream, []byte, []byte)      {}

// Goal: a recording of the live server replays with zero divergence and a
// clean oracle (the clients' account joined), in every write mode, twice
// with the same trace, byte for byte. Method: record three chatting
// clients on loopback, replay the file twice with a trace.
func TestReplayLiveRecording(t *testing.T) {
	for _, mode := range []netrec.WriteMode{netrec.WriteContents, netrec.WriteDigests, netrec.WriteCounts} {
		t.Run(mode.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "live.rec")
			accounts, _ := recordLive(t, path, mode)
			var traces [2]bytes.Buffer
			var reps [2]ReplayReport
			for i := range reps {
				text := timeline.NewText(&traces[i], timeline.Filter{})
				reps[i] = Replay(path, ReplayOptions{Accounts: accounts, Trace: text.Add})
				r := reps[i]
				if !r.OK() || r.End != "end" || r.Accounts != 3 {
					t.Fatalf("replay %d: ok=%v end=%q accounts=%d violation=%v divergence=%v err=%v", i, r.OK(), r.End, r.Accounts, r.Violation, r.Divergence, r.Err)
				}
			}
			if reps[0].TraceHash != reps[1].TraceHash || !bytes.Equal(traces[0].Bytes(), traces[1].Bytes()) {
				t.Errorf("two replays traced differently (hashes %016x, %016x)", reps[0].TraceHash, reps[1].TraceHash)
			}
			if r := reps[0]; r.Frames != 3 || r.Stats.FramesOut != 9 || r.Core.Program != "test" || r.Records == 0 {
				t.Errorf("report %+v", r)
			}
			if !strings.Contains(traces[0].String(), ` joined `) || !strings.Contains(traces[0].String(), ` read `) || !strings.Contains(traces[0].String(), ` tick `) {
				t.Errorf("trace lacks the claims or the reads:\n%s", traces[0].String())
			}
		})
	}
}

// Goal: the clients' account is checked, not merely read: an account that
// disagrees with the recording is a violation naming the connection.
// Method: one recording, replayed with accounts each broken one way.
func TestReplayChecksAccounts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live.rec")
	good, received := recordLive(t, path, netrec.WriteCounts)
	got := received[2]
	cases := []struct {
		name   string
		break_ func(*recfile.Account)
		inv    string
		want   string
	}{
		{"received more", func(a *recfile.Account) { a.Received += 1 }, InvKernel, "the server wrote"},
		{"received other bytes", func(a *recfile.Account) { a.ReceivedCRC ^= 1 }, InvKernel, "differ from the first"},
		{"received less, to a clean end", func(a *recfile.Account) {
			a.Received--
			a.ReceivedCRC = crc32.Checksum(got[:len(got)-1], recfile.CRCTable)
		}, InvDelivery, "closed for eof after a flush, but client c read 59 of the 60"},
		{"sent more than read, before the FIN", func(a *recfile.Account) { a.Sent++ }, InvKernel, "end of stream after"},
		{"sent other bytes", func(a *recfile.Account) { a.SentCRC ^= 1 }, InvKernel, "differ from those it sent"},
		{"never accepted", func(a *recfile.Account) { a.Conn = 999 }, InvLiveness, "never accepted"},
	}
	for _, c := range cases {
		accounts := append([]recfile.Account(nil), good...)
		c.break_(&accounts[2]) // the half-closer: the server read its FIN
		r := Replay(path, ReplayOptions{Accounts: accounts})
		if r.Violation == nil || r.Violation.Invariant != c.inv || !strings.Contains(r.Violation.Detail, c.want) {
			t.Errorf("%s: violation %v, want %s with %q", c.name, r.Violation, c.inv, c.want)
		}
	}
	if _, err := os.Stat(path + recfile.AccountSuffix); err == nil {
		t.Fatal("a side file exists that the test did not write")
	}
}
