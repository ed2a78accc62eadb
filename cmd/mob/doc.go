// Command mob is the multi-echo (chat broadcast) server on real sockets:
// every frame a client sends goes to every connected client, the sender
// included, in one global order. It runs the single-threaded event loop of
// package server on package netpoll (epoll on Linux, kqueue on the BSDs),
// through internal/live, the runner the soak and the benchmarks share.
//
// With -framing line (the default) a frame is a line, so two nc sessions
// can chat through it:
//
//	mob -addr 127.0.0.1:7777 &
//	nc 127.0.0.1 7777
//
// With -framing mob a frame is an 8-byte big-endian length and then that
// many bytes, the wire format of the original Rust mob.
//
// What it guarantees, beyond package server's guarantees:
//
//   - It listens on loopback unless -addr says otherwise, and logs the
//     address it actually bound (useful with port 0).
//   - SIGINT or SIGTERM starts a graceful shutdown: no new connections, what
//     was read is flushed to every client within -shutdown-timeout, and the
//     process exits 0. A second signal kills it at once.
//   - Exit status 2 for a bad command line, with the problem named by its
//     flag and the usage: every config error, the server's own limits
//     included; 1 for a setup or event-loop failure (with the error
//     logged); 0 otherwise. -version prints the version, the VCS revision
//     and the Go version.
//   - Sizes take units (64KiB, 1MiB, 10MB) or plain bytes. A -conns-max
//     that the descriptor limit cannot hold is warned about at start.
//   - Logs are text or, with -log-format json, one JSON object per line; a
//     connection is logged as conn.peer and conn.fd.
//   - With -debug-addr (bound before the server listens, so a bad or busy
//     one stops the start first) it serves Prometheus metrics at /metrics
//     (counters, gauges, close reasons by a reason label, mob_build_info,
//     process descriptors, memory and CPU), a health check at /healthz (503
//     once a shutdown begins or when the loop stops answering), expvar
//     counters at /debug/vars (the server's Stats under "mob") and
//     net/http/pprof at /debug/pprof/. The counters are a snapshot the
//     event loop publishes on request, so no other goroutine ever touches
//     the server.
//   - With -record FILE (off by default: a recording holds every byte the
//     clients send; the file is created 0600 and never over an existing
//     one) every call the core makes to the kernel, and its result, is
//     recorded, capped at -record-bytes-max, for mobsim -replay FILE to
//     run the core against and check with the simulator's oracle. By
//     default a write is recorded by its count (the kernel's answer, all
//     a replay needs) with a CRC-32C on one write in 64.
package main
