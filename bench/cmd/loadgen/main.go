// Command loadgen runs the benchmark scenarios of package load against the
// servers of package peer, each run in its own child process (cmd/peer), and
// prints a table of medians with the ratio of the first server to the others.
//
//	go build -o bin/peer ./cmd/peer && go run ./cmd/loadgen -peer bin/peer
//
// Everything stays on 127.0.0.0/8 and every scenario is bounded in time.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"

	"github.com/mobsim/mobsim/bench/load"
)

func main() {
	pl := load.ShortPlan("")
	flag.StringVar(&pl.Bin, "peer", "bin/peer", "cmd/peer binary")
	impls := flag.String("impls", strings.Join(pl.Impls, ","), "servers to compare, first is the reference (mob, goroutine, gnet, gnet-mc)")
	scenarios := flag.String("scenarios", strings.Join(pl.Scenarios, ","), "scenarios to run")
	flag.IntVar(&pl.Runs, "runs", pl.Runs, "repetitions per scenario and server (medians are reported)")
	flag.StringVar(&pl.ProfileDir, "profile", "", "directory for CPU profiles of the first server's runs (all but idle)")
	long := flag.Bool("long", false, "measure 2.5x longer per run")
	markdown := flag.Bool("markdown", false, "print the table as Markdown")
	jsonOut := flag.String("json", "", "write every run's values to this file")
	flag.IntVar(&pl.FanoutClients, "fanout-clients", pl.FanoutClients, "clients in the fan-out scenarios")
	flag.IntVar(&pl.FanoutWindow, "window", pl.FanoutWindow, "own frames in flight per fan-out client")
	flag.IntVar(&pl.FrameBytes, "frame-bytes", pl.FrameBytes, "bytes per frame, header included")
	flag.IntVar(&pl.LatencyClients, "latency-clients", pl.LatencyClients, "clients in the latency scenario")
	flag.Float64Var(&pl.LatencyRate, "latency-rate", pl.LatencyRate, "frames/s sent by all latency clients together")
	flag.IntVar(&pl.IdleConns, "idle-conns", pl.IdleConns, "connections in the idle scenario")
	flag.Parse()
	pl.Impls = strings.Split(*impls, ",")
	pl.Scenarios = strings.Split(*scenarios, ",")
	if *long {
		pl.FanoutTime = pl.FanoutTime * 5 / 2
		pl.LatencyTime = pl.LatencyTime * 5 / 2
		pl.ChurnTime = pl.ChurnTime * 5 / 2
	}
	if pl.ProfileDir != "" {
		if err := os.MkdirAll(pl.ProfileDir, 0o755); err != nil {
			fatal(err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	host, _ := os.Hostname()
	fmt.Printf("# %s  host %s  nproc %d  GOMAXPROCS %d  %s\n", time.Now().Format(time.RFC3339), host,
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	for _, name := range pl.Scenarios {
		if sc, err := load.FindScenario(name); err == nil {
			fmt.Printf("# %-12s %s\n", name, sc.About(pl))
		}
	}
	r, err := load.Run(ctx, pl, os.Stdout)
	if err != nil {
		fatal(err)
	}
	fmt.Printf("\n# medians of %d runs (errors: worst run); ratios are %s/other; total %.0fs\n",
		pl.Runs, pl.Impls[0], r.Elapsed.Seconds())
	r.WriteTable(os.Stdout, *markdown)
	fmt.Println("\n# every run")
	r.WriteRuns(os.Stdout)
	if *jsonOut != "" {
		b, err := json.MarshalIndent(r, "", "  ")
		if err == nil {
			err = os.WriteFile(*jsonOut, b, 0o644)
		}
		if err != nil {
			fatal(err)
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(1)
}
