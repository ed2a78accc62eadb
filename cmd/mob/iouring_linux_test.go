package main

import (
	"regexp"
	"testing"

	"github.com/mobsim/mobsim/server"
)

// Goal: -io-uring=false takes the writev loop for the batched fan-out and
// says so at start, with the reason; the default says which path it took.
// Method: start with each, read the "write batches" line, and relay a
// frame to two members through each.
func TestIOUringFlag(t *testing.T) {
	for _, on := range []bool{true, false} {
		arg := "-io-uring=false"
		if on {
			arg = "-io-uring=true"
		}
		s := startServer(t, arg, "-shutdown-timeout", "100ms")
		cs := s.dialMembers(2)
		if _, err := cs[0].Write([]byte("hi\n")); err != nil {
			t.Fatal(err)
		}
		st := s.waitStats("the frame's deliveries", func(st server.Stats) bool { return st.FramesOut == 2 && st.BytesOut >= 6 })
		s.stop()
		m := regexp.MustCompile(`msg="write batches" path=(\S+)( why=.*)?`).FindStringSubmatch(allLogs(s))
		switch {
		case m == nil:
			t.Fatalf("%s: no write batches line:\n%s", arg, allLogs(s))
		case !on && (m[1] != "writev" || m[2] == ""):
			t.Fatalf("%s: %q; want the writev path and why", arg, m[0])
		case on && m[1] == "writev" && m[2] == "":
			t.Fatalf("%s: %q; the writev path needs a reason", arg, m[0])
		}
		t.Logf("%s: %s; %d writes in %d batches", arg, m[0], st.WriteCalls, st.WriteBatches)
	}
}
