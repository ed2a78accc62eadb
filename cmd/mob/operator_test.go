package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/mobsim/mobsim/internal/live"
	"github.com/mobsim/mobsim/netpoll"
	"github.com/mobsim/mobsim/server"
)

// Goal: size flags take units (binary and decimal) as well as plain bytes,
// refuse what is not a size, and show their defaults in units. Method: a
// table of inputs through parseSize and formatSize.
func TestSizeUnits(t *testing.T) {
	for in, want := range map[string]int64{
		"1048576": 1 << 20, "1MiB": 1 << 20, "64KiB": 64 << 10, "64kib": 64 << 10, "2 GiB": 2 << 30,
		"512B": 512, "10MB": 10_000_000, "1kB": 1000, "1KB": 1000, "0": 0, "-1": -1,
	} {
		if want > math.MaxInt {
			continue // does not fit an int here (32-bit)
		}
		if got, err := parseSize(in); err != nil || int64(got) != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MiB", "1.5MiB", "1XB", "1 M", "0x10", "many", "99999999999TiB"} {
		if n, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", bad, n)
		}
	}
	for n, want := range map[int]string{65536: "64KiB", 1 << 20: "1MiB", 1000: "1000", 0: "0", 1536: "1536", 1 << 30: "1GiB"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"-frame-bytes-max", "1.5MiB"}, &out, nil); code != exitUsage ||
		!strings.Contains(out.String(), `invalid value "1.5MiB" for flag -frame-bytes-max`) {
		t.Errorf("-frame-bytes-max 1.5MiB: exit %d:\n%s", code, out.String())
	}
}

// Goal: every config error is a usage error (exit 2, with the usage) that
// names the flag, never a Go field: the limits only the server knows
// (upper bounds) included. Method: run past each such limit; look for the
// flag and for any server.Config field name in the output.
func TestConfigErrorsNameTheFlag(t *testing.T) {
	var fields []string
	for _, f := range reflect.VisibleFields(reflect.TypeFor[server.Config]()) {
		fields = append(fields, f.Name)
	}
	fieldName := regexp.MustCompile(`\b(` + strings.Join(fields, "|") + `)\b`)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-conns-max", "100000000"}, "-conns-max is 100000000; the largest allowed is 16777216"},
		{[]string{"-frame-bytes-max", "2GiB", "-queue-bytes-max", "4GiB"}, "-frame-bytes-max is 2147483648; the largest allowed is 1073741824"},
		{[]string{"-events-per-tick-max", "100000"}, "-events-per-tick-max is 100000"},
		{[]string{"-read-buffer-bytes", "128MiB"}, "-read-buffer-bytes is 134217728"},
		{[]string{"-addr", "7777"}, `-addr "7777"`},
		{[]string{"-debug-addr", "localhost"}, `-debug-addr "localhost"`},
	} {
		if slices.ContainsFunc(c.args, func(a string) bool { return strings.HasSuffix(a, "GiB") }) && math.MaxInt == math.MaxInt32 {
			continue // does not fit an int here
		}
		var out bytes.Buffer
		code := run(context.Background(), c.args, &out, func(*live.Loop) { t.Errorf("%q: the server started", c.args) })
		if code != exitUsage || !strings.Contains(out.String(), c.want) || !strings.Contains(out.String(), "Usage: mob") {
			t.Errorf("%q: exit %d, want %d with %q and the usage:\n%s", c.args, code, exitUsage, c.want, out.String())
		}
		if m := fieldName.FindString(out.String()); m != "" {
			t.Errorf("%q: the message names the Go field %s:\n%s", c.args, m, out.String())
		}
	}
}

// Goal: the server's messages can always be put in flag terms: every
// Config field a message may name has a flag of its kebab-case name.
// Method: look each field up in the flag set.
func TestEveryConfigFieldHasAFlag(t *testing.T) {
	fs := newFlagSet(&options{cfg: server.DefaultConfig()}, io.Discard)
	for _, f := range reflect.VisibleFields(reflect.TypeFor[server.Config]()) {
		if f.Name == "Logger" || f.Name == "Observer" {
			continue // set by run, not by the command line
		}
		if fs.Lookup(kebabCase(f.Name)) == nil {
			t.Errorf("server.Config.%s has no flag -%s", f.Name, kebabCase(f.Name))
		}
	}
}

// Goal: -version prints the version, the revision and the Go version and
// exits 0 without starting. Method: run it with stdout captured; parse
// made-up pseudo-versions for their revision.
func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	defer func(w io.Writer) { stdout = w }(stdout)
	stdout = &out
	code := run(context.Background(), []string{"-version"}, &errb, func(*live.Loop) { t.Error("-version started the server") })
	if code != exitOK || !regexp.MustCompile(`^mob \S+ \(revision [^)]+\) `+regexp.QuoteMeta(runtime.Version())+"\n$").MatchString(out.String()) {
		t.Errorf("-version: exit %d, printed %q", code, out.String())
	}
	for v, rev := range map[string]string{
		"v0.0.0-20261201083000-0123456789ab":              "0123456789ab",
		"v1.2.1-0.20261201083000-0123456789ab":            "0123456789ab",
		"v1.2.0-rc.1.0.20261201083000-abcdefabcdef":       "abcdefabcdef",
		"v2.0.0-20261201083000-0123456789ab+incompatible": "0123456789ab",
		"v1.2.0": "", "(devel)": "",
	} {
		m := pseudoRevision.FindStringSubmatch(v)
		if (m == nil) != (rev == "") || (m != nil && m[1] != rev) {
			t.Errorf("%s: revision %v, want %q", v, m, rev)
		}
	}
	if s := (buildInfo{version: "v1.2.0", revision: "abc", modified: true, goVersion: "go1.26"}).String(); s != "mob v1.2.0 (revision abc, modified) go1.26" {
		t.Errorf("version line %q", s)
	}
}

// Goal: -log-format json writes one JSON object per record, and an unknown
// format is a usage error. Method: log through newLogger; run with xml.
func TestLogFormat(t *testing.T) {
	var buf bytes.Buffer
	newLogger(&buf, logJSON, slog.LevelInfo).Info("listening", "addr", "127.0.0.1:1", "framing", server.FramingMob,
		"reason", server.ReasonQueueLimit, "path", netpoll.BatchIOUring)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec["msg"] != "listening" || rec["addr"] != "127.0.0.1:1" {
		t.Errorf("json log %q: %v", buf.String(), err)
	}
	// The enumerations log by name in JSON too, not as numbers.
	if rec["framing"] != "mob" || rec["reason"] != "queue-limit" || rec["path"] != "io_uring" {
		t.Errorf("json log names: %q", buf.String())
	}
	buf.Reset()
	newLogger(&buf, "", slog.LevelInfo).Info("listening", "addr", "127.0.0.1:1")
	if !strings.Contains(buf.String(), "msg=listening addr=127.0.0.1:1") {
		t.Errorf("default log is not text: %q", buf.String())
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"-log-format", "xml"}, &out, nil); code != exitUsage ||
		!strings.Contains(out.String(), `unknown log format "xml": use text or json`) {
		t.Errorf("-log-format xml: exit %d:\n%s", code, out.String())
	}
}

// Goal: the warning comes exactly when -conns-max cannot be reached under
// the descriptor limit. Method: the boundary, with fdReserve descriptors
// kept for the process itself.
func TestFDLimitWarning(t *testing.T) {
	if msg := fdLimitWarning(1024-fdReserve, 1024); msg != "" {
		t.Errorf("at the limit: %q", msg)
	}
	if msg := fdLimitWarning(1024-fdReserve+1, 1024); !strings.Contains(msg, "-conns-max exceeds") {
		t.Errorf("one past the limit: %q", msg)
	}
}

// statsForMetrics has a distinct value in every counter, so that a sample
// wired to the wrong field shows.
func statsForMetrics() server.Stats {
	st := server.Stats{
		Accepted: 1, FramesIn: 2, FramesOut: 3, BytesIn: 4, BytesOut: 5, ReadCalls: 6, WriteCalls: 7,
		StaleEvents: 8, Events: 9, Ticks: 10, AcceptErrors: 11, AcceptPauses: 12, PollErrors: 13,
		Conns: 14, Members: 15, QueuedBytes: 16, QueuedBytesHi: 17, WriteBatches: 18, BatchedWrites: 19,
	}
	for i, r := range server.Reasons() {
		st.Closed[r] = uint64(100 + i)
	}
	return st
}

func TestMetricsText(t *testing.T) {
	var buf bytes.Buffer
	writeMetrics(&buf, statsForMetrics(), buildInfo{version: "v1.0.0", revision: `a"b`, goVersion: "go1.26"})
	fams := parseMetrics(t, buf.Bytes())
	checkMetrics(t, fams, statsForMetrics())
	if got := fams["mob_build_info"]; got == nil || got.labels[0]["revision"] != `a"b` || got.labels[0]["version"] != "v1.0.0" {
		t.Errorf("build info %+v", got)
	}
	t.Logf("%d families, %d bytes", len(fams), buf.Len())
}

// checkMetrics checks the exposition against the stats it came from: the
// families and types, every close reason as a label, and each value.
func checkMetrics(t *testing.T, fams map[string]*family, st server.Stats) {
	t.Helper()
	want := map[string]struct {
		typ string
		v   float64
	}{
		"mob_connections_accepted_total":   {"counter", float64(st.Accepted)},
		"mob_frames_read_total":            {"counter", float64(st.FramesIn)},
		"mob_frame_deliveries_total":       {"counter", float64(st.FramesOut)},
		"mob_read_bytes_total":             {"counter", float64(st.BytesIn)},
		"mob_written_bytes_total":          {"counter", float64(st.BytesOut)},
		"mob_read_calls_total":             {"counter", float64(st.ReadCalls)},
		"mob_write_calls_total":            {"counter", float64(st.WriteCalls)},
		"mob_stale_events_total":           {"counter", float64(st.StaleEvents)},
		"mob_poll_events_total":            {"counter", float64(st.Events)},
		"mob_ticks_total":                  {"counter", float64(st.Ticks)},
		"mob_write_batches_total":          {"counter", float64(st.WriteBatches)},
		"mob_batched_writes_total":         {"counter", float64(st.BatchedWrites)},
		"mob_accept_errors_total":          {"counter", float64(st.AcceptErrors)},
		"mob_accept_pauses_total":          {"counter", float64(st.AcceptPauses)},
		"mob_poll_interrupts_total":        {"counter", float64(st.PollErrors)},
		"mob_input_throttles_total":        {"counter", float64(st.Throttles)},
		"mob_ack_checks_total":             {"counter", float64(st.AckChecks)},
		"mob_input_bytes":                  {"gauge", float64(st.InputBytes)},
		"mob_input_bytes_max":              {"gauge", float64(st.InputBytesHi)},
		"mob_throttled_connections":        {"gauge", float64(st.Throttled)},
		"mob_connections":                  {"gauge", float64(st.Conns)},
		"mob_members":                      {"gauge", float64(st.Members)},
		"mob_queued_bytes":                 {"gauge", float64(st.QueuedBytes)},
		"mob_connection_backlog_bytes_max": {"gauge", float64(st.QueuedBytesHi)},
		"mob_build_info":                   {"gauge", 1},
	}
	for name, w := range want {
		f := fams[name]
		if f == nil {
			t.Errorf("no family %s", name)
			continue
		}
		if f.typ != w.typ || len(f.values) != 1 || f.values[0] != w.v {
			t.Errorf("%s: %s %v, want %s %v", name, f.typ, f.values, w.typ, w.v)
		}
	}
	closed := fams["mob_connections_closed_total"]
	if closed == nil || closed.typ != "counter" || len(closed.values) != len(server.Reasons()) {
		t.Fatalf("mob_connections_closed_total: %+v", closed)
	}
	for i, r := range server.Reasons() {
		if closed.labels[i]["reason"] != r.String() || closed.values[i] != float64(st.Closed[r]) {
			t.Errorf("closed sample %d: %v %v, want reason=%s %d", i, closed.labels[i], closed.values[i], r, st.Closed[r])
		}
	}
	for name, f := range fams {
		if f.help == "" {
			t.Errorf("%s has no HELP", name)
		}
		if (f.typ == "counter") != strings.HasSuffix(name, "_total") {
			t.Errorf("%s is a %s: counters, and only counters, end in _total", name, f.typ)
		}
	}
}

func (f *family) String() string { return fmt.Sprintf("%s %v %v", f.typ, f.labels, f.values) }
