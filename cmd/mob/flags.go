package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/mobsim/mobsim/netpoll"
	"github.com/mobsim/mobsim/server"
)

// addrDefault is loopback: a chat relay with no authentication should not
// listen on every interface unless asked to.
const addrDefault = "127.0.0.1:7777"

// sendBufBytesDefault is -send-buf-bytes' default, from measurement
// (e2e BenchmarkNeverReaderKernelMemory, Linux 6.18 loopback): with the
// kernel's autotuning a client that never reads pins 3.9 MB of the
// server's kernel memory before the queue limit evicts it; with 64 KiB set,
// 143 KB. A client then gets at most about 128 KiB in flight per round
// trip, enough for a chat client on any link and for the benchmarks.
const sendBufBytesDefault = 64 << 10

// options is everything the command line sets.
type options struct {
	addr      string
	debugAddr string
	logLevel  slog.Level
	logFormat logFormat
	version   bool
	listen    netpoll.ListenConfig
	ioURing   bool          // -io-uring; the poller's NoIOUring is its negation
	cfg       server.Config // Logger is set later, by run
	record    recordOptions
}

// errUsage marks a command line that parsed but does not make sense. The
// message and the usage have already been printed.
var errUsage = errors.New("usage")

// errVersion says -version was given and the version printed. It is a
// flag.ErrHelp, so the command exits 0 as for -h.
var errVersion = fmt.Errorf("version printed: %w", flag.ErrHelp)

// stdout receives what -version prints (a variable for the tests).
var stdout io.Writer = os.Stdout

// framingValue adapts server.Framing to flag.Value.
type framingValue struct{ f *server.Framing }

func (v framingValue) String() string {
	if v.f == nil {
		return ""
	}
	return v.f.String()
}

func (v framingValue) Set(s string) error {
	f, err := server.ParseFraming(s)
	if err != nil {
		return err
	}
	*v.f = f
	return nil
}

// levelValue is -log-level: slog's level names, shown in lower case as
// they are written on the command line.
type levelValue struct{ l *slog.Level }

func (v levelValue) String() string {
	if v.l == nil {
		return ""
	}
	return strings.ToLower(v.l.String())
}

func (v levelValue) Set(s string) error { return v.l.UnmarshalText([]byte(s)) }

// parseFlags parses args (without the program name). On -h it prints the
// usage and returns flag.ErrHelp; on a bad command line it prints the
// problem and the usage to stderr and returns an error.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := options{cfg: server.DefaultConfig()}
	fs := newFlagSet(&o, stderr)
	if err := fs.Parse(args); err != nil {
		return o, err // the flag package printed it, with the usage
	}
	if o.version {
		fmt.Fprintln(stdout, readBuildInfo())
		return o, errVersion
	}
	err := errors.Join(append([]error{o.check(fs.NArg())}, o.record.check(fs)...)...)
	if err == nil {
		err = flagTerms(o.cfg.Check(), fs)
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "mob: %s\n", line)
		}
		fs.Usage()
		return o, fmt.Errorf("%w: %w", errUsage, err)
	}
	// 0 on the command line disables these; -1 says so to the server.
	if o.cfg.IdleTimeout == 0 {
		o.cfg.IdleTimeout = -1
	}
	if o.cfg.FrameTimeout == 0 {
		o.cfg.FrameTimeout = -1
	}
	if o.cfg.InputRateBytesPerSec == 0 {
		o.cfg.InputRateBytesPerSec = -1
	}
	return o, nil
}

// newFlagSet declares every flag, with units in its name or help and the
// server's defaults as its defaults.
func newFlagSet(o *options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("mob", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageHead)
		fs.PrintDefaults()
	}
	c := &o.cfg
	fs.StringVar(&o.addr, "addr", addrDefault, "`host:port` to listen on; port 0 picks a free port (the log says which)")
	fs.Var(framingValue{&c.Framing}, "framing", "frame format: `line` (newline-terminated, for nc) or mob (8-byte big-endian length, then the body)")
	o.logLevel = slog.LevelInfo
	fs.Var(levelValue{&o.logLevel}, "log-level", "log `level`: debug, info, warn or error")
	o.logFormat = logText
	fs.Var(&o.logFormat, "log-format", "log `format` on stderr: text (key=value) or json (one object per line)")
	fs.BoolVar(&o.version, "version", false, "print the version, the VCS revision and the Go version, and exit")
	fs.StringVar(&o.debugAddr, "debug-addr", "", "`host:port` for an HTTP server with Prometheus metrics at /metrics, a health check at /healthz, expvar counters at /debug/vars and pprof at /debug/pprof/; empty: none")

	fs.Var(sizeValue{&c.FrameBytesMax}, "frame-bytes-max", "largest frame body in `bytes`, not counting the newline or 8-byte header; a longer frame closes its sender")
	fs.Var(sizeValue{&c.QueueBytesMax}, "queue-bytes-max", "`bytes` one client may be owed before it is disconnected (reason queue-limit); must hold one largest frame")
	fs.IntVar(&c.ConnsMax, "conns-max", c.ConnsMax, "`count` of open connections allowed; one more gets a one-line error and is closed")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, "disconnect a client that has sent no complete frame for this long (a `duration`), after an \"error: idle\" frame; 0 disables")
	fs.Var(sizeValue{&c.InputBytesMax}, "input-bytes-max", "`bytes` of unfinished frames kept for all clients together; at the limit the client holding the most is sent \"error: input budget\" and disconnected; must hold one largest frame")
	fs.DurationVar(&c.FrameTimeout, "frame-timeout", c.FrameTimeout, "disconnect a client whose frame is not complete this long (a `duration`) after its first byte, after an \"error: frame timeout\" frame; 0 disables")
	fs.IntVar(&c.InputRateBytesPerSec, "input-rate-bytes-per-sec", c.InputRateBytesPerSec, "`bytes` per second read from one client on average; a faster sender is not read until it is under the rate again (its data waits, nothing is lost); 0 disables")
	fs.Var(sizeValue{&c.InputBurstBytes}, "input-burst-bytes", "`bytes` a client may send at once, after a pause, before -input-rate-bytes-per-sec holds it back")
	fs.DurationVar(&c.LingerTimeout, "linger-timeout", c.LingerTimeout, "time (a `duration`) a leaving client may take to read what it is owed, and acknowledge it or send its FIN; in a shutdown -shutdown-timeout bounds every leaving client instead")
	fs.Var(sizeValue{&c.LingerBytesMax}, "linger-bytes-max", "`bytes` a client sent an error frame may still send (read and dropped) before it is cut without waiting; a client still owed output is never cut for what it sends")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "on SIGINT/SIGTERM, time (a `duration`) allowed for flushing before every connection is closed")
	fs.DurationVar(&c.AcceptBackoffMin, "accept-backoff-min", c.AcceptBackoffMin, "first pause (a `duration`) of accepting after EMFILE, ENFILE or ENOBUFS; it doubles while the error lasts")
	fs.DurationVar(&c.AcceptBackoffMax, "accept-backoff-max", c.AcceptBackoffMax, "longest accept pause (a `duration`)")

	fs.IntVar(&o.listen.Backlog, "backlog", 0, "listen(2) backlog, a `count` of pending connections; 0 means 4096 (the kernel clamps it to somaxconn)")
	fs.Var(sizeValue{&o.listen.RecvBufBytes}, "recv-buf-bytes", "SO_RCVBUF of accepted sockets in `bytes` (Linux doubles it); 0: kernel default with autotuning")
	o.listen.SendBufBytes = sendBufBytesDefault
	fs.Var(sizeValue{&o.listen.SendBufBytes}, "send-buf-bytes", "SO_SNDBUF of accepted sockets in `bytes` (Linux doubles it): the kernel memory a client that does not read can pin, about 2.2x this; 0: kernel default with autotuning (on loopback up to 4 MB per client)")

	fs.BoolVar(&o.ioURing, "io-uring", true, "send each tick's writes to the kernel as one io_uring submission where Linux allows it (the log says which path it took and why); false: one writev per write")

	fs.IntVar(&c.EventsPerTickMax, "events-per-tick-max", c.EventsPerTickMax, "`count` of readiness events taken from one poll")
	fs.IntVar(&c.AcceptsPerTickMax, "accepts-per-tick-max", c.AcceptsPerTickMax, "`count` of connections accepted per event-loop tick")
	fs.Var(sizeValue{&c.ReadBytesPerTickMax}, "read-bytes-per-tick-max", "`bytes` read from one connection per tick, for fairness")
	fs.IntVar(&c.WriteCallsPerTickMax, "write-calls-per-tick-max", c.WriteCallsPerTickMax, "`count` of write system calls to one connection per tick")
	fs.Var(sizeValue{&c.ReadBufferBytes}, "read-buffer-bytes", "size of the shared read buffer in `bytes`")
	fs.Var(sizeValue{&c.PartialKeepBytesMax}, "partial-keep-bytes-max", "a client's partial-frame buffer larger than this many `bytes` is freed once empty")
	addRecordFlags(fs, &o.record)
	return fs
}

const usageHead = `Usage: mob [flags]

mob is a multi-echo (chat) server: every frame a client sends goes to every
connected client, the sender included, in one order. With the default line
framing, two "nc 127.0.0.1 7777" sessions can chat through it.
SIGINT or SIGTERM shuts it down gracefully (exit status 0).
Sizes are bytes, or a number with a unit: 64KiB, 1MiB, 1GiB (powers of 1024)
or kB, MB, GB (powers of 1000). Durations are written like 500ms, 5s or 2m.
Exit status: 0 after a graceful shutdown, 1 if it cannot start or the event
loop fails, 2 for a bad command line.

Flags:
`

// check reports a command line the server would refuse or misread, in
// terms of flags. The server checks its Config again; this gives the
// message in the user's words.
func (o *options) check(nargs int) error {
	c := &o.cfg
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if nargs > 0 {
		bad("unexpected arguments: mob takes only flags")
	}
	for _, a := range []struct{ name, v string }{{"addr", o.addr}, {"debug-addr", o.debugAddr}} {
		if _, _, err := net.SplitHostPort(a.v); err != nil && (a.v != "" || a.name == "addr") {
			bad("-%s %q: %v; want host:port, e.g. 127.0.0.1:7777 or [::1]:0", a.name, a.v, err)
		}
	}
	for _, p := range []struct {
		name string
		v    int
	}{
		{"frame-bytes-max", c.FrameBytesMax}, {"queue-bytes-max", c.QueueBytesMax},
		{"conns-max", c.ConnsMax}, {"events-per-tick-max", c.EventsPerTickMax},
		{"accepts-per-tick-max", c.AcceptsPerTickMax}, {"read-bytes-per-tick-max", c.ReadBytesPerTickMax},
		{"write-calls-per-tick-max", c.WriteCallsPerTickMax}, {"read-buffer-bytes", c.ReadBufferBytes},
		{"partial-keep-bytes-max", c.PartialKeepBytesMax}, {"linger-bytes-max", c.LingerBytesMax},
		{"input-bytes-max", c.InputBytesMax}, {"input-burst-bytes", c.InputBurstBytes},
	} {
		if p.v < 1 {
			bad("-%s is %d; it must be at least 1", p.name, p.v)
		}
	}
	for _, p := range []struct {
		name string
		v    int
	}{
		{"backlog", o.listen.Backlog}, {"recv-buf-bytes", o.listen.RecvBufBytes}, {"send-buf-bytes", o.listen.SendBufBytes},
	} {
		if p.v < 0 {
			bad("-%s is %d; it must be 0 (default) or more", p.name, p.v)
		}
	}
	if c.IdleTimeout < 0 {
		bad("-idle-timeout is %v; use 0 to disable it", c.IdleTimeout)
	}
	if c.FrameTimeout < 0 {
		bad("-frame-timeout is %v; use 0 to disable it", c.FrameTimeout)
	}
	if c.InputRateBytesPerSec < 0 {
		bad("-input-rate-bytes-per-sec is %d; use 0 to disable it", c.InputRateBytesPerSec)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"linger-timeout", c.LingerTimeout}, {"shutdown-timeout", c.ShutdownTimeout},
		{"accept-backoff-min", c.AcceptBackoffMin}, {"accept-backoff-max", c.AcceptBackoffMax},
	} {
		if d.v <= 0 {
			bad("-%s is %v; it must be positive", d.name, d.v)
		}
	}
	if c.AcceptBackoffMax < c.AcceptBackoffMin {
		bad("-accept-backoff-max (%v) is below -accept-backoff-min (%v)", c.AcceptBackoffMax, c.AcceptBackoffMin)
	}
	header := 1 // the newline
	if c.Framing == server.FramingMob {
		header = server.MobHeaderBytes
	}
	if c.FrameBytesMax > 0 && c.QueueBytesMax < c.FrameBytesMax+header {
		bad("-queue-bytes-max (%d) must hold one largest frame: -frame-bytes-max (%d) + %d bytes of %s framing",
			c.QueueBytesMax, c.FrameBytesMax, header, c.Framing)
	}
	return errors.Join(errs...)
}

// flagTerms rewrites the server's verdict on its Config in the words of the
// command line: each Config field name (ConnsMax) becomes its flag
// (-conns-max), which is its name in kebab case.
func flagTerms(err error, fs *flag.FlagSet) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, f := range reflect.VisibleFields(reflect.TypeFor[server.Config]()) {
		name := kebabCase(f.Name)
		if fs.Lookup(name) == nil {
			continue
		}
		msg = regexp.MustCompile(`\b`+f.Name+`\b`).ReplaceAllLiteralString(msg, "-"+name)
	}
	return errors.New(msg)
}

// kebabCase turns a Config field name into a flag name: ReadBytesPerTickMax
// becomes read-bytes-per-tick-max.
func kebabCase(name string) string {
	var b strings.Builder
	for i, r := range name {
		if 'A' <= r && r <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
