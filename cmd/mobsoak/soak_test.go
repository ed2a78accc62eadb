package main

import (
	"bufio"
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/mobsim/mobsim/server"
)

// TestMain lets the test binary be the soak's child: run re-executes its
// own executable, which under go test is this binary.
func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) != "" {
		os.Exit(serveMain())
	}
	os.Exit(m.Run())
}

// Goal: a short soak against the live server passes with every check
// active, and its report holds the figures it promises. Method: run the
// whole command in-process for 3 s with 20 client slots (the server is a
// child process, this test binary re-executed), then read the report: exit
// status 0, no violation, frames relayed and checked, connections of
// several behaviours, descriptors equal before and after.
func TestShortSoak(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"-duration", "3s", "-clients", "20", "-progress", "0", "-drain-timeout", "20s"}, &out, &errOut)
	t.Logf("report:\n%s", out.String())
	if errOut.Len() > 0 {
		t.Logf("stderr:\n%s", errOut.String())
	}
	if code != exitOK {
		t.Fatalf("exit status %d, want %d", code, exitOK)
	}
	report := out.String()
	for _, want := range []string{"violations:     0\n", "\nPASS\n"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	num := func(re string) int {
		m := regexp.MustCompile(re).FindStringSubmatch(report)
		if m == nil {
			t.Fatalf("report has no match for %s", re)
		}
		var n int
		for _, c := range m[1] {
			n = n*10 + int(c-'0')
		}
		return n
	}
	if n := num(`global order:\s+(\d+) frames`); n < 100 {
		t.Errorf("only %d frames in the global order", n)
	}
	if n := num(`deliveries:\s+(\d+) checked`); n < 1000 {
		t.Errorf("only %d deliveries checked", n)
	}
	if n := num(`connections:\s+(\d+) `); n < 20 {
		t.Errorf("only %d connections", n)
	}
	before, after := num(`server fds:\s+(\d+) before`), num(`, (\d+) after they left`)
	if before != after {
		t.Errorf("server fds %d before, %d after", before, after)
	}
}

// Goal: the event records survive the pipe: every kind decodes to what
// was encoded. Method: encode one of each into a buffer and decode them.
func TestEventsRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := &eventWriter{w: bufio.NewWriter(&buf)}
	st := server.Stats{Accepted: 7, FramesIn: 9}
	st.Closed[server.ReasonIdle] = 3
	w.listening("127.0.0.1:4242")
	w.joined(1, "127.0.0.5:50000")
	w.frame(1, frameKey(3, 4), 77)
	w.left(1, server.ReasonEOF)
	w.closed(1, server.ReasonEOF)
	w.refused(2, server.ReasonConnsLimit, "127.0.0.6:50001")
	if err := w.stats(st); err != nil {
		t.Fatal(err)
	}
	w.w.Flush()
	want := []event{
		{kind: evListening, addr: "127.0.0.1:4242"},
		{kind: evJoined, serial: 1, addr: "127.0.0.5:50000"},
		{kind: evFrame, serial: 1, key: frameKey(3, 4), size: 77},
		{kind: evLeft, serial: 1, reason: server.ReasonEOF},
		{kind: evClosed, serial: 1, reason: server.ReasonEOF},
		{kind: evRefused, serial: 2, reason: server.ReasonConnsLimit, addr: "127.0.0.6:50001"},
		{kind: evStats, stats: st},
	}
	r := bufio.NewReader(&buf)
	for i, w := range want {
		got, err := readEvent(r)
		if err != nil || got != w {
			t.Errorf("event %d: got %+v, %v; want %+v", i, got, err, w)
		}
	}
	if _, err := readEvent(r); err == nil {
		t.Error("an event after the last one")
	}
}

// Goal: a body is checked byte for byte against its key, so a receiver
// notices any change. Method: build bodies for many keys, check them, then
// flip each byte of one and cut it short: every change must be caught.
func TestBodyCheck(t *testing.T) {
	const payloadMax = 1024
	for id := uint32(1); id < 50; id++ {
		for seq := uint32(0); seq < 50; seq++ {
			b := appendBody(nil, frameKey(id, seq), payloadMax)
			if !checkBody(b, payloadMax) || len(b) != bodySize(frameKey(id, seq), payloadMax) {
				t.Fatalf("body for %d.%d does not check", id, seq)
			}
		}
	}
	b := appendBody(nil, frameKey(5, 5), payloadMax)
	for len(b) < 20 {
		b = appendBody(nil, frameKey(5, uint32(len(b))), payloadMax)
	}
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x40
		if checkBody(c, payloadMax) {
			t.Errorf("byte %d flipped, body still checks", i)
		}
	}
	if checkBody(b[:len(b)-1], payloadMax) || checkBody(append(bytes.Clone(b), 0), payloadMax) {
		t.Error("a body one byte short or long still checks")
	}
	f := appendFrame(nil, frameKey(9, 9), payloadMax)
	if len(f) != headerBytes+bodySize(frameKey(9, 9), payloadMax) {
		t.Errorf("frame is %d bytes", len(f))
	}
}
