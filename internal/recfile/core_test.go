package recfile

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mobsim/mobsim/server"
)

// A config round-trips whole, Logger and Observer left out; every field of
// server.Config survives (each is set to a value other than its default).
func TestRoundTrip(t *testing.T) {
	cfg := server.DefaultConfig()
	cfg.Framing = server.FramingMob
	cfg.FrameBytesMax = 1000
	cfg.QueueBytesMax = 5000
	cfg.ConnsMax = 7
	cfg.IdleTimeout = -1
	cfg.LingerTimeout = 3 * time.Second
	cfg.LingerBytesMax = 11
	cfg.ShutdownTimeout = 4 * time.Second
	cfg.AcceptBackoffMin = time.Millisecond
	cfg.AcceptBackoffMax = 2 * time.Millisecond
	cfg.EventsPerTickMax = 13
	cfg.AcceptsPerTickMax = 14
	cfg.ReadBytesPerTickMax = 15
	cfg.WriteCallsPerTickMax = 16
	cfg.ReadBufferBytes = 17
	cfg.PartialKeepBytesMax = 18
	cfg.Logger = slog.Default()
	in := Core{Program: "mob", Server: cfg, Bugs: []string{"lifo-queue"}, Writes: "counts", DigestEvery: 64}
	b, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	in.Server.Logger = nil
	if out.Server != in.Server || out.Program != in.Program || strings.Join(out.Bugs, ",") != "lifo-queue" ||
		out.Writes != in.Writes || out.DigestEvery != in.DigestEvery {
		t.Fatalf("decoded %+v\nencoded %+v", out, in)
	}
}

// What this build cannot rebuild is refused, saying why.
func TestDecodeRefuses(t *testing.T) {
	good, err := Encode(Core{Program: "mob", Server: server.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, doc, want string }{
		{"not json", "MOB", "invalid character"},
		{"newer build", strings.Replace(string(good), `"FrameBytesMax"`, `"FrameBytesMaxNew":1,"FrameBytesMax"`, 1), "unknown field"},
		{"refused config", strings.Replace(string(good), `"FrameBytesMax":65536`, `"FrameBytesMax":-1`, 1), "FrameBytesMax"},
		{"trailing data", string(good) + "{}", "after the document"},
	} {
		if _, err := Decode([]byte(c.doc)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

// Accounts round-trip, and a bad line is refused with its number.
func TestAccounts(t *testing.T) {
	in := []Account{
		{Conn: 2, Name: "a", Sent: 10, SentCRC: 7, Received: 20, ReceivedCRC: 9, End: "eof", Survivor: true},
		{Conn: 3, Name: "b", End: "none", Reset: true},
	}
	var buf bytes.Buffer
	if err := WriteAccounts(&buf, in); err != nil {
		t.Fatal(err)
	}
	out, err := ReadAccounts(bytes.NewReader(buf.Bytes()))
	if err != nil || len(out) != 2 || out[0] != in[0] || out[1] != in[1] {
		t.Fatalf("read %+v, %v", out, err)
	}
	for _, bad := range []string{"{\"conn\":1,\"end\":\"later\"}\n", "{\"end\":\"eof\"}\n", "not json\n"} {
		if _, err := ReadAccounts(strings.NewReader(buf.String() + bad)); err == nil || !strings.Contains(err.Error(), "line 3") {
			t.Errorf("%q: %v, want an error naming line 3", bad, err)
		}
	}
}
