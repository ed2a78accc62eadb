package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/mobsim/mobsim/internal/procfs"
	"github.com/mobsim/mobsim/server"
)

// metricsContentType is the Prometheus text exposition format, version 0.0.4.
const metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// exposition writes metric families in the Prometheus text format: a HELP
// and a TYPE line, then the samples.
type exposition struct{ w io.Writer }

func (e exposition) family(name, typ, help string) {
	help = strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(help)
	fmt.Fprintf(e.w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

// sample writes one sample; labels alternate names and values.
func (e exposition) sample(name string, v float64, labels ...string) {
	fmt.Fprint(e.w, name)
	if len(labels) > 0 {
		esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
		fmt.Fprint(e.w, "{")
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				fmt.Fprint(e.w, ",")
			}
			fmt.Fprintf(e.w, `%s="%s"`, labels[i], esc.Replace(labels[i+1]))
		}
		fmt.Fprint(e.w, "}")
	}
	fmt.Fprintf(e.w, " %s\n", strconv.FormatFloat(v, 'g', -1, 64))
}

// one writes a family of a single unlabelled sample.
func (e exposition) one(name, typ, help string, v float64) {
	e.family(name, typ, help)
	e.sample(name, v)
}

// writeMetrics writes the server's counters and gauges, the build, and
// what can be read of the process (open and allowed descriptors, memory,
// CPU; Linux only but for the limit).
func writeMetrics(w io.Writer, st server.Stats, bi buildInfo) {
	e := exposition{w}
	counter := func(name, help string, v uint64) { e.one(name, "counter", help, float64(v)) }
	gauge := func(name, help string, v float64) { e.one(name, "gauge", help, v) }

	counter("mob_connections_accepted_total", "Connections accepted, including those turned away at -conns-max.", st.Accepted)
	e.family("mob_connections_closed_total", "counter", "Connections closed, by reason (eof, reset, queue-limit, ...).")
	for _, r := range server.Reasons() {
		e.sample("mob_connections_closed_total", float64(st.Closed[r]), "reason", r.String())
	}
	counter("mob_frames_read_total", "Complete frames read from clients.", st.FramesIn)
	counter("mob_frame_deliveries_total", "Frames queued for delivery, counted once per receiving member.", st.FramesOut)
	counter("mob_read_bytes_total", "Bytes read from clients.", st.BytesIn)
	counter("mob_written_bytes_total", "Bytes written to clients.", st.BytesOut)
	counter("mob_read_calls_total", "Read system calls on client connections.", st.ReadCalls)
	counter("mob_write_calls_total", "Write (and writev) system calls on client connections.", st.WriteCalls)
	counter("mob_write_batches_total", "Fan-outs submitted as one batch of writes: one io_uring_enter each with io_uring, a writev per write in the fallback (the write batches log line at start says which).", st.WriteBatches)
	counter("mob_batched_writes_total", "Writes that went in a batch (counted in mob_write_calls_total too).", st.BatchedWrites)
	counter("mob_poll_events_total", "Readiness events taken from the poller.", st.Events)
	counter("mob_stale_events_total", "Readiness events for a connection already closed or replaced, dropped.", st.StaleEvents)
	counter("mob_ticks_total", "Event-loop iterations (one poll each).", st.Ticks)
	counter("mob_accept_errors_total", "Failed accepts.", st.AcceptErrors)
	counter("mob_accept_pauses_total", "Accept back-offs started after EMFILE, ENFILE, ENOBUFS or ENOMEM.", st.AcceptPauses)
	counter("mob_poll_interrupts_total", "Polls interrupted by a signal (EINTR) and retried.", st.PollErrors)
	counter("mob_input_throttles_total", "Times a client was stopped for -input-rate-bytes-per-sec (its data waits in its socket).", st.Throttles)
	counter("mob_ack_checks_total", "Queries of the bytes a leaving client has not acknowledged (SIOCOUTQ and the like).", st.AckChecks)

	gauge("mob_connections", "Open connections: members and those still leaving.", float64(st.Conns))
	gauge("mob_members", "Connections receiving broadcasts.", float64(st.Members))
	gauge("mob_queued_bytes", "Bytes held in the broadcast log for connections that have not taken them yet.", float64(st.QueuedBytes))
	gauge("mob_input_bytes", "Bytes of unfinished-frame buffers held for all clients (-input-bytes-max bounds it).", float64(st.InputBytes))
	gauge("mob_input_bytes_max", "The most unfinished-frame buffer bytes held at once (a high-water mark).", float64(st.InputBytesHi))
	gauge("mob_throttled_connections", "Clients not being read now because they are over -input-rate-bytes-per-sec.", float64(st.Throttled))
	gauge("mob_connection_backlog_bytes_max", "The largest backlog any one connection has had, in bytes (a high-water mark; -queue-bytes-max bounds it).", float64(st.QueuedBytesHi))

	e.family("mob_build_info", "gauge", "Always 1; the labels say which build is running.")
	e.sample("mob_build_info", 1, "version", bi.version, "revision", bi.revision, "goversion", bi.goVersion)

	writeProcessMetrics(e)
}

// writeProcessMetrics writes the process collector's usual families, each
// only if it can be read here.
func writeProcessMetrics(e exposition) {
	pid := os.Getpid()
	if fds, err := procfs.FDs(pid); err == nil {
		e.one("process_open_fds", "gauge", "Open file descriptors.", float64(len(fds)))
	}
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err == nil {
		e.one("process_max_fds", "gauge", "The descriptor limit (RLIMIT_NOFILE, soft).", float64(rl.Cur))
	}
	if rss, _, err := procfs.Memory(pid); err == nil {
		e.one("process_resident_memory_bytes", "gauge", "Resident memory in bytes.", float64(rss))
	}
	if cpu, err := procfs.CPU(pid); err == nil {
		e.one("process_cpu_seconds_total", "counter", "User and system CPU time in seconds.", cpu.Seconds())
	}
}
