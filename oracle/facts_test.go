package oracle

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mobsim/mobsim/server"
)

// A violation says what the user lost, and its facts are the history's
// numbers behind it. Method: the hang-up bug's history (the server closes
// a member for eof on a hint, before reading its last frame or its EOF).
func TestViolationFacts(t *testing.T) {
	h := kernelHistory()
	h.now = 81 * time.Millisecond
	h.member(1)
	h.say(1, "hi\n")
	h.deliver(1, "hi\n")
	h.ClientSent(1, []byte("bye\n")) // sent, never read
	h.Closed(1, server.ReasonEOF)
	v := h.Violation()
	if v == nil || v.Invariant != InvMembership {
		t.Fatalf("got %v, want a membership violation", v)
	}
	for _, says := range []string{"client 1 was closed without leaving first", "before the server read its EOF", "hang-up hint", "4 bytes it sent were never read"} {
		if !strings.Contains(v.Detail, says) {
			t.Errorf("detail %q does not say %q", v.Detail, says)
		}
	}
	if v.Time != h.now || v.Conn != 1 {
		t.Errorf("violation at %v about conn %d, want %v and 1", v.Time, v.Conn, h.now)
	}
	want := Facts{
		{"client_sent_bytes", uint64(7)}, {"server_read_bytes", uint64(3)}, {"unread_bytes", uint64(4)},
		{"server_read_eof", false}, {"frames_broadcast", 1}, {"owed_bytes", uint64(3)}, {"written_bytes", uint64(3)},
		{"received_bytes", uint64(3)}, {"closed_for", "eof"},
	}
	if !reflect.DeepEqual(v.Facts, want) {
		t.Errorf("facts\n%v\nwant\n%v", v.Facts, want)
	}
}

// Facts are one JSON object in their order, and read back the same.
func TestFactsJSON(t *testing.T) {
	fs := Facts{{"unread_bytes", uint64(37)}, {"server_read_eof", false}, {"silent_for", 1500 * time.Millisecond}, {"closed_for", "eof"}, {"big", uint64(1 << 63)}}
	b, err := json.Marshal(fs)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != `{"unread_bytes":37,"server_read_eof":false,"silent_for":"1.5s","closed_for":"eof","big":9223372036854775808}` {
		t.Fatalf("JSON %s", got)
	}
	var back Facts
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	want := Facts{{"unread_bytes", int64(37)}, {"server_read_eof", false}, {"silent_for", "1.5s"}, {"closed_for", "eof"}, {"big", uint64(1 << 63)}}
	if !reflect.DeepEqual(back, want) {
		t.Fatalf("read back %v, want %v", back, want)
	}
	if s := fs[2].String(); s != "silent for: 1.5s" {
		t.Errorf("fact prints as %q", s)
	}
}

// A liveness violation names the connection Stuck found, with its facts.
func TestFailStuckNamesTheConnection(t *testing.T) {
	h := kernelHistory()
	h.member(1)
	h.member(2)
	h.say(1, "hi\n")
	h.deliver(1, "hi\n") // conn 2 is never written its copy
	if h.FailStuck(Settled{FDsOpen: 2, FDsMax: 8}) != true {
		t.Fatal("FailStuck found nothing")
	}
	v := h.Violation()
	if v == nil || v.Invariant != InvLiveness || v.Conn != 2 || !strings.Contains(v.Detail, "output stranded") {
		t.Fatalf("got %+v, want liveness about conn 2", v)
	}
	if len(v.Facts) == 0 || v.Facts[0] != (Fact{"client_sent_bytes", uint64(0)}) {
		t.Fatalf("facts %v", v.Facts)
	}
	if h2 := kernelHistory(); h2.FailStuck(Settled{}) || h2.Violation() != nil {
		t.Fatal("a live history failed")
	}
}
