package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mobsim/mobsim/bugs"
	"github.com/mobsim/mobsim/internal/recfile"
	"github.com/mobsim/mobsim/server"
)

func main() {
	if os.Getenv(serveEnv) != "" {
		os.Exit(serveMain())
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1 // a violation, or the soak could not run
	exitUsage = 2
)

// options is the command line.
type options struct {
	duration      time.Duration
	clients       int
	rate          float64
	seed          uint64
	sources       int
	payloadMax    int
	frameBytesMax int
	queueBytesMax int
	sendBufBytes  int
	idleTimeout   time.Duration
	lingerTimeout time.Duration
	drainTimeout  time.Duration
	progress      time.Duration
	bug           string
	record        string // -record: the recording of the server's seam
	keepRecord    bool
	ioURing       bool // -io-uring
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("mobsoak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: mobsoak [flags]\n\nA bounded soak test of the live server on loopback (see go doc ./cmd/mobsoak).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "how long clients churn (a `duration`); the drain and report follow")
	fs.IntVar(&o.clients, "clients", 500, "`count` of client slots, each connecting again and again")
	fs.Float64Var(&o.rate, "rate", 1000, "mean frames per second a slot sends is rate/clients (bursts come on top)")
	fs.Uint64Var(&o.seed, "seed", 0, "seed for the clients' choices (0: from the clock); the interleaving on real sockets is not reproducible")
	fs.IntVar(&o.sources, "sources", sourcesDefault, "`count` of 127.0.0.x source addresses the clients spread over")
	fs.IntVar(&o.payloadMax, "payload-bytes-max", 1024, "largest random payload after a frame's 8-byte key, in `bytes`")
	fs.IntVar(&o.frameBytesMax, "frame-bytes-max", 16<<10, "the server's -frame-bytes-max")
	fs.IntVar(&o.queueBytesMax, "queue-bytes-max", 256<<10, "the server's -queue-bytes-max: slow and never readers meet it")
	fs.IntVar(&o.sendBufBytes, "send-buf-bytes", 16<<10, "SO_SNDBUF of the server's sockets in `bytes` (Linux doubles it); small, so that slow clients make the server queue, cut writes short and meet would-block; 0: kernel default")
	fs.DurationVar(&o.idleTimeout, "idle-timeout", 5*time.Second, "the server's -idle-timeout: idlers meet it")
	fs.DurationVar(&o.lingerTimeout, "linger-timeout", 5*time.Second, "the server's -linger-timeout")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", 30*time.Second, "bound on each step of the drain after the churn")
	fs.DurationVar(&o.progress, "progress", 5*time.Second, "interval of the progress line on stderr; 0: none")
	fs.StringVar(&o.bug, "bug", "", "switch on this bug from the server's catalog, to see the oracle catch it (the catalog build only: "+bugs.Command+" run ./cmd/mobsoak -bug NAME)")
	fs.StringVar(&o.record, "record", "", "record the server's every call to the kernel to this `file` (0600; it must not exist), for mobsim -replay, with the clients' account beside it (FILE"+recfile.AccountSuffix+"); kept if the run finds a violation, deleted if it is clean")
	fs.BoolVar(&o.keepRecord, "keep-record", false, "keep the -record file of a clean run too")
	fs.BoolVar(&o.ioURing, "io-uring", true, "let the server fan out through io_uring where the kernel allows it (as mob -io-uring); false: one writev per member")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if fs.NArg() > 0 {
		bad("unexpected arguments %q", fs.Args())
	}
	if o.duration <= 0 || o.duration > 24*time.Hour {
		bad("-duration %v: want more than 0 and at most 24h", o.duration)
	}
	if o.clients < 1 || o.clients > 100_000 {
		bad("-clients %d: want 1 to 100000", o.clients)
	}
	if o.rate <= 0 {
		bad("-rate %v: want more than 0", o.rate)
	}
	if o.sources < 1 || o.sources > 254 {
		bad("-sources %d: want 1 to 254", o.sources)
	}
	if o.payloadMax < 0 || o.payloadMax+keyBytes > o.frameBytesMax {
		bad("-payload-bytes-max %d: want 0 up to -frame-bytes-max minus the %d-byte key", o.payloadMax, keyBytes)
	}
	if o.queueBytesMax < o.frameBytesMax+headerBytes {
		bad("-queue-bytes-max %d must hold one largest frame (%d)", o.queueBytesMax, o.frameBytesMax+headerBytes)
	}
	if o.idleTimeout <= time.Second {
		bad("-idle-timeout %v: want more than 1s (senders pause up to a second)", o.idleTimeout)
	}
	if o.sendBufBytes < 0 {
		bad("-send-buf-bytes %d: want 0 (kernel default) or more", o.sendBufBytes)
	}
	if o.lingerTimeout <= 0 || o.drainTimeout <= 0 {
		bad("-linger-timeout and -drain-timeout must be positive")
	}
	if o.keepRecord && o.record == "" {
		bad("-keep-record needs -record FILE")
	}
	if o.record != "" {
		for _, p := range []string{o.record, o.record + recfile.AccountSuffix} {
			if _, err := os.Lstat(p); err == nil {
				bad("-record %s: %s exists; a recording is never written over a file", o.record, p)
			}
		}
	}
	if o.bug != "" {
		if err := bugs.Check((*server.Server)(nil), []string{o.bug}); err != nil {
			bad("-bug %s: %v", o.bug, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(stderr, "mobsoak: %v\n", err)
		fs.Usage()
		return o, err
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	return o, nil
}

// run is the whole command: parse, soak, report. It returns the exit
// status.
func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	rep, err := soakRun(o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "mobsoak: %v\n", err)
		return exitFail
	}
	rep.print(stdout)
	if !rep.ok() {
		return exitFail
	}
	return exitOK
}
