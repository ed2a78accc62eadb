package main

import (
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/mobsim/mobsim/internal/live"
	"github.com/mobsim/mobsim/server"
)

// statsWait bounds how long /metrics and /debug/vars wait for the event
// loop to publish a fresh snapshot before serving the previous one, and
// how long /healthz waits before it calls the loop stuck.
const statsWait = 250 * time.Millisecond

// debugServer serves /metrics, /healthz, /debug/vars and /debug/pprof/ for
// one loop.
type debugServer struct {
	ln   net.Listener
	http *http.Server
	done chan struct{}
}

// listenDebug binds the debug address. run calls it before the server
// listens, so that a bad or busy -debug-addr is reported before
// "listening" and nothing was ever served.
func listenDebug(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-debug-addr %s: %w", addr, err)
	}
	return ln, nil
}

// serveDebug serves on ln in a goroutine. The handlers sit on a private
// mux, and the server's counters are added to /debug/vars by the handler
// instead of expvar.Publish: the global registry allows one name once per
// process, and tests run several servers in one.
func serveDebug(ln net.Listener, l *live.Loop, log *slog.Logger) *debugServer {
	bi := readBuildInfo()
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", metricsContentType)
		writeMetrics(w, l.Stats(statsWait), bi)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		code, msg := health(l, statsWait)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		fmt.Fprintln(w, msg)
	})
	mux.HandleFunc("/debug/vars", func(w http.ResponseWriter, _ *http.Request) {
		writeVars(w, l.Stats(statsWait))
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	d := &debugServer{
		ln:   ln,
		http: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
		done: make(chan struct{}),
	}
	go func() {
		defer close(d.done)
		if err := d.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("debug server", "err", err)
		}
	}()
	return d
}

// Addr is the address the debug server listens on.
func (d *debugServer) Addr() string { return d.ln.Addr().String() }

// Close stops the debug server and waits for its goroutine.
func (d *debugServer) Close() error {
	err := d.http.Close()
	<-d.done
	return err
}

// writeVars writes what expvar's own handler would (every published
// variable: cmdline, memstats, ...) plus "mob", the server's counters.
func writeVars(w http.ResponseWriter, st server.Stats) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	fmt.Fprint(w, "{\n")
	expvar.Do(func(kv expvar.KeyValue) {
		fmt.Fprintf(w, "%q: %s,\n", kv.Key, kv.Value)
	})
	mob, err := json.Marshal(statsVars(st))
	if err != nil {
		mob = []byte("null") // cannot happen: plain numbers and strings
	}
	fmt.Fprintf(w, "%q: %s\n}\n", "mob", mob)
}

// mobVars is the JSON shape of server.Stats under "mob" in /debug/vars.
type mobVars struct {
	Accepted      uint64            `json:"accepted"`
	Closed        map[string]uint64 `json:"closed"` // by reason name: eof, queue-limit, ...
	ClosedTotal   uint64            `json:"closed_total"`
	FramesIn      uint64            `json:"frames_in"`
	FramesOut     uint64            `json:"frames_out"`
	BytesIn       uint64            `json:"bytes_in"`
	BytesOut      uint64            `json:"bytes_out"`
	ReadCalls     uint64            `json:"read_calls"`
	WriteCalls    uint64            `json:"write_calls"`
	StaleEvents   uint64            `json:"stale_events"`
	Events        uint64            `json:"events"`
	Ticks         uint64            `json:"ticks"`
	AcceptErrors  uint64            `json:"accept_errors"`
	AcceptPauses  uint64            `json:"accept_pauses"`
	PollErrors    uint64            `json:"poll_errors"`
	Conns         int               `json:"conns"`
	Members       int               `json:"members"`
	QueuedBytes   uint64            `json:"queued_bytes"`
	QueuedBytesHi uint64            `json:"queued_bytes_hi"`

	InputBytes     uint64 `json:"input_bytes"`
	InputBytesHi   uint64 `json:"input_bytes_hi"`
	InputEvictions uint64 `json:"input_evictions"`
	Throttles      uint64 `json:"throttles"`
	Throttled      int    `json:"throttled"`
	AckChecks      uint64 `json:"ack_checks"`
}

func statsVars(st server.Stats) mobVars {
	closed := make(map[string]uint64, len(st.Closed))
	for _, r := range server.Reasons() {
		closed[r.String()] = st.Closed[r]
	}
	return mobVars{
		Accepted: st.Accepted, Closed: closed, ClosedTotal: st.ClosedTotal(),
		FramesIn: st.FramesIn, FramesOut: st.FramesOut, BytesIn: st.BytesIn, BytesOut: st.BytesOut,
		ReadCalls: st.ReadCalls, WriteCalls: st.WriteCalls, StaleEvents: st.StaleEvents,
		Events: st.Events, Ticks: st.Ticks, AcceptErrors: st.AcceptErrors, AcceptPauses: st.AcceptPauses,
		PollErrors: st.PollErrors, Conns: st.Conns, Members: st.Members,
		QueuedBytes: st.QueuedBytes, QueuedBytesHi: st.QueuedBytesHi,
		InputBytes: st.InputBytes, InputBytesHi: st.InputBytesHi, InputEvictions: st.InputEvictions,
		Throttles: st.Throttles, Throttled: st.Throttled, AckChecks: st.AckChecks,
	}
}
