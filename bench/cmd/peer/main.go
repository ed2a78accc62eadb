// Command peer runs one of the benchmark's servers (package peer) as its own
// process, so that its memory and CPU time can be measured apart from the
// load generator. It prints "listening ADDR" once ready, then answers
// commands read from standard input, one per line:
//
//	stats                 one JSON line: peer.ProcStats
//	gc                    runtime.GC and debug.FreeOSMemory, then "ok"
//	profile start PATH    start a CPU profile, then "ok"
//	profile stop          stop it, then "ok"
//	quit                  close the server and exit (so does end of input)
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/mobsim/mobsim/bench/peer"
	"github.com/mobsim/mobsim/server"
)

func main() {
	cfg := peer.DefaultConfig()
	impl := flag.String("impl", "mob", fmt.Sprintf("implementation: one of %v", peer.Impls))
	framing := flag.String("framing", "mob", "framing: line or mob")
	flag.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address (loopback)")
	flag.IntVar(&cfg.QueueBytesMax, "queue-bytes", cfg.QueueBytesMax, "bytes a connection may be owed before it is cut")
	flag.IntVar(&cfg.FrameBytesMax, "frame-bytes", cfg.FrameBytesMax, "largest frame body")
	flag.Parse()
	if err := run(*impl, *framing, cfg); err != nil {
		slog.Error("peer", "impl", *impl, "err", err)
		os.Exit(1)
	}
}

func run(impl, framing string, cfg peer.Config) error {
	f, err := server.ParseFraming(framing)
	if err != nil {
		return err
	}
	cfg.Framing = f
	if err := raiseNoFile(); err != nil {
		return err
	}
	p, err := peer.Start(impl, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("listening %s\n", p.Addr())
	in := bufio.NewScanner(os.Stdin)
	enc := json.NewEncoder(os.Stdout)
	var prof *os.File
	for in.Scan() {
		cmd := strings.Fields(in.Text())
		if len(cmd) == 0 {
			continue
		}
		var err error
		switch {
		case cmd[0] == "stats":
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			err = enc.Encode(peer.ProcStats{Stats: p.Stats(), Mallocs: ms.Mallocs,
				HeapInuse: ms.HeapInuse, Goroutines: runtime.NumGoroutine()})
		case cmd[0] == "gc":
			runtime.GC()
			debug.FreeOSMemory()
			fmt.Println("ok")
		case cmd[0] == "profile" && len(cmd) == 3 && cmd[1] == "start":
			prof, err = startProfile(cmd[2])
		case cmd[0] == "profile" && len(cmd) == 2 && cmd[1] == "stop" && prof != nil:
			pprof.StopCPUProfile()
			err = prof.Close()
			prof = nil
			if err == nil {
				fmt.Println("ok")
			}
		case cmd[0] == "quit":
			return p.Close()
		default:
			err = fmt.Errorf("unknown command %q", in.Text())
		}
		if err != nil {
			fmt.Printf("error %v\n", err)
		}
	}
	return p.Close()
}

func startProfile(path string) (*os.File, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	fmt.Println("ok")
	return f, nil
}

func raiseNoFile() error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("setrlimit: %w", err)
	}
	return nil
}
