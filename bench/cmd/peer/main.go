// Command peer runs one of the benchmark's servers (package peer) as its own
// process, so that its memory and CPU time can be measured apart from the
// load generator. It prints "listening ADDR" once ready, then answers
// commands read from standard input, one per line:
//
//	stats                 one JSON line: peer.ProcStats
//	gc                    runtime.GC and debug.FreeOSMemory, then "ok"
//	profile start PATH    start a CPU profile, then "ok"
//	profile stop          stop it, then "ok"
//	heap PATH             write the allocation profile, then "ok"
//	quit                  close the server and exit (so does end of input)
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/mobsim/mobsim/bench/peer"
	"github.com/mobsim/mobsim/internal/child"
	"github.com/mobsim/mobsim/server"
)

func main() {
	cfg := peer.DefaultConfig()
	impl := flag.String("impl", "mob", fmt.Sprintf("implementation: one of %v", peer.Impls))
	framing := flag.String("framing", "mob", "framing: line or mob")
	flag.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address (loopback)")
	flag.IntVar(&cfg.QueueBytesMax, "queue-bytes", cfg.QueueBytesMax, "bytes a connection may be owed before it is cut")
	flag.IntVar(&cfg.FrameBytesMax, "frame-bytes", cfg.FrameBytesMax, "largest frame body")
	memRate := flag.Int("memprofilerate", 0, "runtime.MemProfileRate (1 records every allocation); 0 keeps the default")
	flag.Parse()
	if *memRate > 0 {
		runtime.MemProfileRate = *memRate
	}
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
	if _, err := child.RaiseNOFILE(); err != nil {
		return err
	}
	p, err := peer.Start(impl, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("listening %s\n", p.Addr())
	in := bufio.NewReader(os.Stdin)
	var (
		prof *os.File
		out  []byte
		ms   runtime.MemStats
	)
	for {
		line, err := in.ReadSlice('\n')
		if err != nil {
			break // end of input: quit
		}
		// "stats" is answered without allocating, so that the allocation
		// count of a measured window holds the server's allocations only.
		if string(bytes.TrimSpace(line)) == "stats" {
			runtime.ReadMemStats(&ms)
			out = appendStats(out[:0], peer.ProcStats{Stats: p.Stats(), Mallocs: ms.Mallocs,
				HeapInuse: ms.HeapInuse, Goroutines: runtime.NumGoroutine()})
			if _, err := os.Stdout.Write(out); err != nil {
				return err
			}
			continue
		}
		cmd := strings.Fields(string(line))
		if len(cmd) == 0 {
			continue
		}
		switch {
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
		case cmd[0] == "heap" && len(cmd) == 2:
			err = writeHeap(cmd[1])
		case cmd[0] == "quit":
			return p.Close()
		default:
			err = fmt.Errorf("unknown command %q", bytes.TrimSpace(line))
		}
		if err != nil {
			fmt.Printf("error %v\n", err)
		}
	}
	return p.Close()
}

// appendStats writes st as one line of JSON, field by field with strconv,
// which allocates nothing once out has grown.
func appendStats(out []byte, st peer.ProcStats) []byte {
	fields := [...]struct {
		name string
		v    uint64
	}{
		{"Conns", uint64(st.Conns)}, {"FramesIn", st.FramesIn}, {"Deliveries", st.Deliveries},
		{"WriteCalls", st.WriteCalls}, {"ReadCalls", st.ReadCalls}, {"WriteSyscalls", st.WriteSyscalls}, {"Ticks", st.Ticks},
		{"Closed", st.Closed}, {"CutSlow", st.CutSlow},
		{"Mallocs", st.Mallocs}, {"HeapInuse", st.HeapInuse}, {"Goroutines", uint64(st.Goroutines)},
	}
	out = append(out, '{')
	for i, f := range fields {
		if i > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendQuote(out, f.name)
		out = append(out, ':')
		out = strconv.AppendUint(out, f.v, 10)
	}
	return append(out, "}\n"...)
}

// writeHeap writes the allocation profile (every allocation since start, at
// the -memprofilerate sampling rate) to path.
func writeHeap(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Println("ok")
	return nil
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
