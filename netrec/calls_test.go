package netrec_test

import (
	"bytes"
	"fmt"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netrec"
)

// callScript makes every call of the seam once or more, with inputs and
// results at the edges of their encodings (tokens using all 64 bits,
// negative and huge timeouts, a short write, a short writev, a failing
// registration, a note with no stream), and returns what each call gave
// back, as text. Run on the recorder over a scripted kernel and on a replay
// of that recording, it must give the same text.
func callScript(p kernel.Poller, ln kernel.Listener, note netrec.Noter, k *scriptKernel) string {
	var out bytes.Buffer
	say := func(format string, args ...any) { fmt.Fprintf(&out, format+"\n", args...) }
	events := make([]kernel.Event, 8)
	if k != nil {
		k.batch = []kernel.Event{{Token: 0xffff_ffff_ffff_fffe, Ready: kernel.ReadyRead | kernel.ReadyError}, {Token: 0, Ready: kernel.ReadyWrite}}
	}
	n, err := p.Poll(events, -1)
	say("poll %d %v %v", n, events[:n], err)
	n, err = p.Poll(events, 1<<62)
	say("poll %d %v %v", n, events[:n], err)
	say("now %v", p.Now())
	if k != nil {
		k.pollErr = kernel.ErrInterrupted
	}
	n, err = p.Poll(events[:3], time.Millisecond)
	say("poll %d %v", n, err)
	st, err := ln.Accept()
	say("accept %v", err)
	vst, err := ln.Accept()
	_, vector := vst.(kernel.VectorWriter)
	say("accept %v vector=%v", err, vector)
	_, err = ln.Accept()
	say("accept %v", err)
	say("register %v", p.Register(st, 1<<63|7, kernel.InterestRead|kernel.InterestWrite))
	if k != nil {
		k.regErr = fmt.Errorf("netpoll: epoll_ctl: %w", syscall.ENOMEM)
	}
	say("reregister %v", p.Reregister(st, 2, kernel.InterestRead))
	say("deregister %v", p.Deregister(vst))
	buf := make([]byte, 10)
	n, err = st.Read(buf)
	say("read %d %q %v", n, buf[:n], err)
	n, err = st.Write([]byte("0123456789"))
	say("write %d %v", n, err)
	n, err = vst.(kernel.VectorWriter).Writev([][]byte{[]byte("ab"), nil, []byte("cdefgh")})
	say("writev %d %v", n, err)
	say("close-write %v", st.CloseWrite())
	note.Note(netrec.NoteFrame, st, 42)
	note.Note(netrec.NoteUser, nil, 1<<60)
	say("close %v %v %v", st.Close(), vst.Close(), ln.Close())
	say("now %v", p.Now())
	return out.String()
}

// Every call of the seam, with every result kind, round-trips: the replay
// answers the script exactly as the recorded kernel did, and a replay that
// matches notes accepts the script's notes.
func TestEveryCallRoundTrips(t *testing.T) {
	for _, mode := range []netrec.WriteMode{netrec.WriteContents, netrec.WriteDigests, netrec.WriteCounts} {
		k := &scriptKernel{streams: []*scriptStream{
			{readData: []byte("hello"), writeMax: 4},
			{writeMax: 5, vector: true},
		}}
		var buf bytes.Buffer
		rec, err := netrec.NewRecorder(&buf, k, netrec.Options{Writes: mode, DigestEvery: 2, Config: []byte{0, 1, 2}})
		if err != nil {
			t.Fatal(err)
		}
		live := callScript(rec, rec.Listener(k), rec, k)
		if err := rec.Close(); err != nil {
			t.Fatal(err)
		}
		rp, err := netrec.NewReplayer(bytes.NewReader(buf.Bytes()), netrec.ReplayOptions{MatchNotes: true})
		if err != nil {
			t.Fatal(err)
		}
		if h := rp.Header(); !bytes.Equal(h.Config, []byte{0, 1, 2}) || h.Writes != mode || h.Build != netrec.CurrentBuild() {
			t.Errorf("header %+v", h)
		}
		ln, err := rp.Listener()
		if err != nil {
			t.Fatal(err)
		}
		replayed := callScript(rp, ln, rp, nil)
		if replayed != live {
			t.Errorf("%v: the replay answered\n%s\nthe kernel\n%s", mode, replayed, live)
		}
		if sum, err := rp.Finish(); err != nil || sum.End != "end" {
			t.Errorf("%v: %+v %v", mode, sum, err)
		}
	}
}

// The reader hands out every field as recorded.
func TestReaderFields(t *testing.T) {
	k := &scriptKernel{streams: []*scriptStream{{readData: []byte("hey"), vector: true}}}
	var buf bytes.Buffer
	rec, _ := netrec.NewRecorder(&buf, k, netrec.Options{})
	ln := rec.Listener(k)
	st, _ := ln.Accept()
	rec.Register(st, 9<<32|3, kernel.InterestRead)
	k.batch = []kernel.Event{{Token: 9<<32 | 3, Ready: kernel.ReadyRead}}
	rec.Poll(make([]kernel.Event, 4), 5*time.Millisecond)
	st.Read(make([]byte, 16))
	st.(kernel.VectorWriter).Writev([][]byte{[]byte("a"), []byte("bc")})
	rec.Close()
	var got []netrec.Record
	eachRecord(t, buf.Bytes(), func(r *netrec.Record) {
		c := *r
		c.Events = append([]kernel.Event(nil), r.Events...)
		c.Bufs = append([]int(nil), r.Bufs...)
		c.Data = append([]byte(nil), r.Data...)
		c.Offset, c.Size, c.Time = 0, 0, 0
		got = append(got, c)
	})
	want := []netrec.Record{
		{Step: 0, Op: netrec.OpListen, ID: 1},
		{Step: 1, Op: netrec.OpAccept, ID: 1, NewID: 2, Vector: true},
		{Step: 2, Op: netrec.OpRegister, ID: 2, Token: 9<<32 | 3, Interest: kernel.InterestRead},
		{Step: 3, Op: netrec.OpPoll, Timeout: 5 * time.Millisecond, Len: 4, N: 1, Events: []kernel.Event{{Token: 9<<32 | 3, Ready: kernel.ReadyRead}}},
		{Step: 4, Op: netrec.OpRead, ID: 2, Len: 16, N: 3, Data: []byte("hey")},
		{Step: 5, Op: netrec.OpWritev, ID: 2, Bufs: []int{1, 2}, N: 3, Data: []byte("abc")},
		{Step: 6, Op: netrec.OpEnd},
	}
	for _, rs := range [][]netrec.Record{got, want} {
		for i := range rs { // nil and empty are the same record
			r := &rs[i]
			r.Events, r.Bufs, r.Data = append([]kernel.Event{}, r.Events...), append([]int{}, r.Bufs...), append([]byte{}, r.Data...)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records\n%+v\nwant\n%+v", got, want)
	}
}
