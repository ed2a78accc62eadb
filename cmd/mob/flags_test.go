package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mobsim/mobsim/netrec"
	"github.com/mobsim/mobsim/server"
)

// Goal: every flag reaches the field it names, and no flag goes untested.
// Method: set each flag to a value that differs from its default, parse,
// and read the field back; then check the table covers every declared
// flag.
func TestFlagsSetTheirFields(t *testing.T) {
	cases := []struct {
		flag, value string
		got         func(o options) any
		want        any
	}{
		{"addr", "127.0.0.1:9", func(o options) any { return o.addr }, "127.0.0.1:9"},
		{"debug-addr", "127.0.0.1:6060", func(o options) any { return o.debugAddr }, "127.0.0.1:6060"},
		{"log-level", "debug", func(o options) any { return o.logLevel }, slog.LevelDebug},
		{"log-format", "json", func(o options) any { return o.logFormat }, logJSON},
		{"framing", "mob", func(o options) any { return o.cfg.Framing }, server.FramingMob},
		{"frame-bytes-max", "100", func(o options) any { return o.cfg.FrameBytesMax }, 100},
		{"queue-bytes-max", "2000000", func(o options) any { return o.cfg.QueueBytesMax }, 2000000},
		{"queue-bytes-max", "2MiB", func(o options) any { return o.cfg.QueueBytesMax }, 2 << 20},
		{"read-buffer-bytes", "16KiB", func(o options) any { return o.cfg.ReadBufferBytes }, 16 << 10},
		{"conns-max", "7", func(o options) any { return o.cfg.ConnsMax }, 7},
		{"idle-timeout", "90s", func(o options) any { return o.cfg.IdleTimeout }, 90 * time.Second},
		{"linger-timeout", "3s", func(o options) any { return o.cfg.LingerTimeout }, 3 * time.Second},
		{"linger-bytes-max", "4096", func(o options) any { return o.cfg.LingerBytesMax }, 4096},
		{"shutdown-timeout", "7s", func(o options) any { return o.cfg.ShutdownTimeout }, 7 * time.Second},
		{"accept-backoff-min", "20ms", func(o options) any { return o.cfg.AcceptBackoffMin }, 20 * time.Millisecond},
		{"accept-backoff-max", "2s", func(o options) any { return o.cfg.AcceptBackoffMax }, 2 * time.Second},
		{"backlog", "16", func(o options) any { return o.listen.Backlog }, 16},
		{"recv-buf-bytes", "8192", func(o options) any { return o.listen.RecvBufBytes }, 8192},
		{"send-buf-bytes", "4096", func(o options) any { return o.listen.SendBufBytes }, 4096},
		{"events-per-tick-max", "64", func(o options) any { return o.cfg.EventsPerTickMax }, 64},
		{"accepts-per-tick-max", "3", func(o options) any { return o.cfg.AcceptsPerTickMax }, 3},
		{"read-bytes-per-tick-max", "1000", func(o options) any { return o.cfg.ReadBytesPerTickMax }, 1000},
		{"write-calls-per-tick-max", "2", func(o options) any { return o.cfg.WriteCallsPerTickMax }, 2},
		{"read-buffer-bytes", "512", func(o options) any { return o.cfg.ReadBufferBytes }, 512},
		{"partial-keep-bytes-max", "64", func(o options) any { return o.cfg.PartialKeepBytesMax }, 64},
		{"input-bytes-max", "1000000", func(o options) any { return o.cfg.InputBytesMax }, 1000000},
		{"frame-timeout", "2s", func(o options) any { return o.cfg.FrameTimeout }, 2 * time.Second},
		{"input-rate-bytes-per-sec", "5000", func(o options) any { return o.cfg.InputRateBytesPerSec }, 5000},
		{"input-burst-bytes", "9000", func(o options) any { return o.cfg.InputBurstBytes }, 9000},
		{"io-uring", "false", func(o options) any { return o.ioURing }, false},
		{"record", "/tmp/x.rec", func(o options) any { return o.record.path }, "/tmp/x.rec"},
		{"record-bytes-max", "8GiB", func(o options) any { return o.record.bytesMax }, int64(8 << 30)},
		{"record-writes", "digests", func(o options) any { return o.record.writes }, netrec.WriteDigests},
		{"record-digest-every", "3", func(o options) any { return o.record.digestEvery }, 3},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.flag] = true
		def, err := parseFlags(nil, io.Discard)
		if err != nil {
			t.Fatalf("no flags: %v", err)
		}
		if fmt.Sprint(c.got(def)) == fmt.Sprint(c.want) {
			t.Errorf("-%s: %v is already the default; the case proves nothing", c.flag, c.want)
		}
		args := []string{"-" + c.flag + "=" + c.value} // = for the boolean ones
		if strings.HasPrefix(c.flag, "record-") {
			args = append([]string{"-record", "x"}, args...) // they need it
		}
		o, err := parseFlags(args, io.Discard)
		if err != nil {
			t.Errorf("-%s %s: %v", c.flag, c.value, err)
			continue
		}
		if got := c.got(o); got != c.want {
			t.Errorf("-%s %s: field is %v (%T), want %v (%T)", c.flag, c.value, got, got, c.want, c.want)
		}
	}
	covered["version"] = true // it exits: TestVersion
	newFlagSet(&options{}, io.Discard).VisitAll(func(f *flag.Flag) {
		if !covered[f.Name] {
			t.Errorf("flag -%s has no case here", f.Name)
		}
	})
}

// Goal: the defaults are the server's, and the address is loopback. Method:
// parse no flags and compare with server.DefaultConfig.
func TestFlagsDefaults(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.addr != "127.0.0.1:7777" || o.debugAddr != "" || o.logLevel != slog.LevelInfo {
		t.Errorf("addr %q, debug-addr %q, log-level %v; want 127.0.0.1:7777, none, info", o.addr, o.debugAddr, o.logLevel)
	}
	if got, want := fmt.Sprintf("%+v", o.cfg), fmt.Sprintf("%+v", server.DefaultConfig()); got != want {
		t.Errorf("config from no flags:\n%s\nwant the server's defaults:\n%s", got, want)
	}
}

// Goal: "-idle-timeout 0", "-frame-timeout 0" and
// "-input-rate-bytes-per-sec 0" mean no such limit, not the server's
// default (a zero Config field means "default"); a negative value is a
// usage error. Method: parse each and read the field.
func TestFlagsZeroDisables(t *testing.T) {
	o, err := parseFlags([]string{"-idle-timeout", "0", "-frame-timeout", "0", "-input-rate-bytes-per-sec", "0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.IdleTimeout >= 0 || o.cfg.FrameTimeout >= 0 || o.cfg.InputRateBytesPerSec >= 0 {
		t.Errorf("IdleTimeout %v, FrameTimeout %v, InputRateBytesPerSec %d; want all negative (disabled)",
			o.cfg.IdleTimeout, o.cfg.FrameTimeout, o.cfg.InputRateBytesPerSec)
	}
	for _, bad := range [][]string{{"-frame-timeout", "-1s"}, {"-input-rate-bytes-per-sec", "-5"}, {"-input-bytes-max", "0"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%v parsed; want a usage error", bad)
		}
	}
}

// Goal: -h documents every flag with a unit or value name and its default,
// and exits 0. Method: run with -h and look for each flag, its value name
// (the back-quoted word in its help: bytes, count, duration, ...) and its
// non-empty default in the output.
func TestHelpDocumentsEveryFlag(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, &out, nil); code != exitOK {
		t.Errorf("mob -h exited %d, want %d", code, exitOK)
	}
	help := out.String()
	newFlagSet(&options{cfg: server.DefaultConfig()}, io.Discard).VisitAll(func(f *flag.Flag) {
		name, _ := flag.UnquoteUsage(f)
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			name = "" // a switch: it takes no value
		} else if name == "" {
			t.Errorf("-%s: the help names no unit or value", f.Name)
		}
		if !strings.Contains(help, strings.TrimSpace("-"+f.Name+" "+name)+"\n") {
			t.Errorf("-h output lacks %q", "-"+f.Name+" "+name)
		}
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && !strings.Contains(help, f.DefValue) {
			t.Errorf("-h output lacks the default of -%s (%s)", f.Name, f.DefValue)
		}
	})
	if t.Failed() {
		t.Logf("-h output:\n%s", help)
	}
}

// Goal: a bad command line exits 2 with the problem, in flag terms, and the
// usage. Method: run each bad command line (none gets as far as listening)
// and check the status and the output.
func TestBadCommandLinesExit2(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"-framing", "xml"}, `unknown framing "xml"`},
		{[]string{"-log-level", "loud"}, `invalid value "loud" for flag -log-level`},
		{[]string{"-idle-timeout", "5"}, `invalid value "5" for flag -idle-timeout`},
		{[]string{"-conns-max", "many"}, `invalid value "many" for flag -conns-max`},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"-conns-max", "0"}, "-conns-max is 0; it must be at least 1"},
		{[]string{"-frame-bytes-max", "-1"}, "-frame-bytes-max is -1"},
		{[]string{"-backlog", "-5"}, "-backlog is -5"},
		{[]string{"-idle-timeout", "-1s"}, "-idle-timeout is -1s; use 0 to disable it"},
		{[]string{"-shutdown-timeout", "0"}, "-shutdown-timeout is 0s; it must be positive"},
		{[]string{"-accept-backoff-min", "2s", "-accept-backoff-max", "1s"}, "-accept-backoff-max (1s) is below -accept-backoff-min (2s)"},
		{[]string{"-frame-bytes-max", "1000", "-queue-bytes-max", "1000"}, "-queue-bytes-max (1000) must hold one largest frame"},
		{[]string{"-framing", "mob", "-frame-bytes-max", "1000", "-queue-bytes-max", "1007"}, "+ 8 bytes of mob framing"},
		{[]string{"-frame-bytes-max", "1000", "-input-bytes-max", "1000"}, "-input-bytes-max (1000) must hold one largest frame"},
		{[]string{"-frame-timeout", "-1s"}, "-frame-timeout is -1s; use 0 to disable it"},
		{[]string{"-input-rate-bytes-per-sec", "-1"}, "-input-rate-bytes-per-sec is -1; use 0 to disable it"},
		{[]string{"-input-burst-bytes", "0"}, "-input-burst-bytes is 0; it must be at least 1"},
		{[]string{"-record-bytes-max", "1GiB"}, "-record-bytes-max needs -record FILE"},
		{[]string{"-record", "x", "-record-bytes-max", "4095"}, "-record-bytes-max is 4095; it must be at least 4KiB"},
		{[]string{"-record", "x", "-record-digest-every", "-1"}, "-record-digest-every is -1"},
		{[]string{"-record", "x", "-record-writes", "all"}, `write mode "all"`},
	}
	for _, c := range cases {
		var out bytes.Buffer
		code := run(context.Background(), c.args, &out, nil)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d", c.args, code, exitUsage)
		}
		if !strings.Contains(out.String(), c.want) || !strings.Contains(out.String(), "Usage: mob") {
			t.Errorf("%q: output lacks %q or the usage:\n%s", c.args, c.want, out.String())
		}
	}
}

// Goal: the largest frame fits the queue and the input budget exactly at
// the limit, so the boundary checks are not off by one. Method:
// -queue-bytes-max and -input-bytes-max equal to -frame-bytes-max plus the
// framing overhead must parse, for both framings.
func TestFlagsQueueHoldsOneFrameExactly(t *testing.T) {
	for _, c := range []struct{ framing, queue string }{{"line", "1001"}, {"mob", "1008"}} {
		for _, limit := range []string{"-queue-bytes-max", "-input-bytes-max"} {
			if _, err := parseFlags([]string{"-framing", c.framing, "-frame-bytes-max", "1000", limit, c.queue}, io.Discard); err != nil {
				t.Errorf("%s framing, %s %s: %v", c.framing, limit, c.queue, err)
			}
		}
	}
}
