package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"

	"github.com/mobsim/mobsim/bugs"
	"github.com/mobsim/mobsim/sim"
	"github.com/mobsim/mobsim/timeline"
)

var errHelp = errors.New("help")

type options struct {
	seed     uint64
	seedSet  bool
	seeds    uint64
	start    uint64
	parallel int
	shard    shard
	json     bool
	trace    bool
	traceOut string
	quiet    bool
	failfast bool
	bugs     []string
	replay   string          // -replay: a recording of the live server
	filter   timeline.Filter // what -trace shows: -conn, -steps
}

// shard i/n takes every seed whose index in the range is i modulo n.
type shard struct{ i, n uint64 }

func parseShard(s string) (shard, error) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return shard{}, fmt.Errorf("shard %q: want i/n, e.g. 0/4", s)
	}
	i, err1 := strconv.ParseUint(a, 10, 64)
	n, err2 := strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil || n == 0 || i >= n {
		return shard{}, fmt.Errorf("shard %q: want i/n with 0 <= i < n", s)
	}
	return shard{i, n}, nil
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := options{shard: shard{0, 1}}
	fs := flag.NewFlagSet("mobsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `mobsim: deterministic simulation of the mob multi-echo server.

  mobsim -seed N [-trace [-conn N] [-steps A:B]] [-trace-out FILE] [-json]   replay one seed
  mobsim -replay FILE [-trace [-conn N] [-steps A:B]] [-trace-out FILE] [-json]   replay a recording of the live server
  mobsim -seeds N [-start S] [-parallel P] [-shard i/n] [-json] [-failfast]   sweep seeds S..S+N-1
  mobsim merge [-json] FILE...   combine the -json summaries of a sweep's shards

Reports go to stderr; stdout carries only the -trace text and the -json
document, so either can be piped.

Exit status: 0 all seeds passed (or the recording replayed clean), 1 a
violation, 2 usage; with -replay also 3 the core diverged from the
recording, 4 the recording cannot be replayed.

`)
		fs.PrintDefaults()
	}
	seed := fs.String("seed", "", "replay this one seed (decimal or 0x hex)")
	fs.Uint64Var(&o.seeds, "seeds", 0, "sweep this many seeds")
	fs.Uint64Var(&o.start, "start", 1, "first seed of a sweep")
	fs.IntVar(&o.parallel, "parallel", runtime.GOMAXPROCS(0), "seeds run at once in a sweep")
	sh := fs.String("shard", "0/1", "run only shard i of n (seeds whose index is i mod n)")
	fs.BoolVar(&o.json, "json", false, "print the sweep summary (or the replay report) as JSON on stdout")
	fs.BoolVar(&o.trace, "trace", false, "print the replayed seed's (or recording's) timeline on stdout")
	fs.StringVar(&o.traceOut, "trace-out", "", "write the replayed seed's (or recording's) timeline as Chrome trace-event JSON (opens in Perfetto)")
	fs.Uint64Var(&o.filter.Conn, "conn", 0, "show only this connection in -trace (its id: the N of \"conn N\")")
	steps := fs.String("steps", "", "show only steps A to B in -trace (A:B, A: or :B)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress line")
	fs.BoolVar(&o.failfast, "failfast", false, "stop a sweep at the first failure (seeds already running finish)")
	fs.StringVar(&o.replay, "replay", "", "replay this recording of the live server (mob -record, mobsoak -record) with the oracle over its history")
	bug := fs.String("bug", "", "switch on catalog bugs, comma-separated (the catalog build only: "+bugs.Command+" run ./cmd/mobsim -bug NAME ...)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, errHelp
		}
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *seed != "" {
		v, err := strconv.ParseUint(*seed, 0, 64)
		if err != nil {
			return o, fmt.Errorf("-seed %q: %w", *seed, err)
		}
		o.seed, o.seedSet = v, true
	}
	if *bug != "" {
		o.bugs = strings.Split(*bug, ",")
		if err := sim.CheckBugs(o.bugs); err != nil {
			return o, fmt.Errorf("-bug %s: %w", *bug, err)
		}
	}
	var err error
	if o.shard, err = parseShard(*sh); err != nil {
		return o, err
	}
	if *steps != "" {
		if o.filter.From, o.filter.To, err = timeline.ParseSteps(*steps); err != nil {
			return o, fmt.Errorf("-steps: %w", err)
		}
		o.filter.Steps = true
	}
	if !o.trace && (o.filter.Conn != 0 || o.filter.Steps) {
		return o, errors.New("-conn and -steps filter the text trace: give -trace too")
	}
	if o.replay != "" {
		switch {
		case o.seedSet || o.seeds > 0:
			return o, errors.New("give -replay or -seed/-seeds, not both")
		case o.bugs != nil:
			return o, errors.New("-replay takes the bugs from the recording: drop -bug")
		case o.failfast:
			return o, errors.New("-failfast is for a sweep (-seeds)")
		}
		return o, nil
	}
	switch {
	case o.seedSet && o.seeds > 0:
		return o, errors.New("give -seed or -seeds, not both")
	case !o.seedSet && o.seeds == 0:
		return o, errors.New("give -seed N to replay, -seeds N to sweep or -replay FILE")
	case !o.seedSet && (o.trace || o.traceOut != ""):
		return o, errors.New("-trace and -trace-out need -seed or -replay")
	case o.seedSet && o.failfast:
		return o, errors.New("-failfast is for a sweep (-seeds)")
	case o.parallel < 1:
		return o, errors.New("-parallel must be at least 1")
	}
	return o, nil
}
