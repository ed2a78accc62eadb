// Package load is the load generator and scenario runner of the benchmarks:
// loopback-only clients that send timestamped frames to a server and measure
// what comes back, and a driver that runs each server as a child process
// (cmd/peer) so its memory and CPU time are its own.
//
// A frame carries its send time (monotonic nanoseconds of the load process),
// the sending client's id and a per-client sequence number. Every receiver
// records send-to-receive latency for every frame, counts deliveries, and
// checks that each sender's frames arrive in sequence with no gap or
// duplicate (the first frame seen from a sender sets its baseline, since a
// client may join after a sender started).
//
// Every loop is bounded in time, every fleet in size; nothing is sent to an
// address outside 127.0.0.0/8. Clients bind to several 127.0.0.x source
// addresses when many connections are needed, so that the 28k ephemeral ports
// of one source address and TIME_WAIT do not limit a run.
package load
