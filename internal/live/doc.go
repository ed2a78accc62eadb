// Package live runs the server core (package server) on the real kernel
// (package netpoll): one event loop on one goroutine, with the few ways
// other goroutines may reach it. cmd/mob, cmd/mobsoak's server child and
// the benchmark's "mob" peer all run the server through it, so a graceful
// stop, a stats snapshot or an observer's flush means the same thing in
// each.
//
// What it guarantees:
//
//   - Only the goroutine in Serve (or Run) touches the server. Stop,
//     Stats and Health are safe from any goroutine, any number of times,
//     before, during and after Serve; they reach the loop through atomic
//     flags and netpoll's Wake, so a loop blocked in Poll answers within
//     one wake-up, not at its next timer.
//   - Stop starts the server's graceful shutdown (stop accepting, flush
//     what each client is owed within the shutdown timeout, close); Serve
//     returns once every connection is closed, and closes the poller.
//   - Stats returns a snapshot the loop took after the call began, or the
//     latest one if none comes within the wait; once Serve has returned it
//     returns the final counters at once. Requests are answered during a
//     shutdown too, one at a time, and allocate nothing on either side, so
//     the benchmark's allocation counts are the server's own.
//   - Health is the same request as Stats, for a health check: Serving
//     when the loop took it within the wait, NotAnswering when it did not
//     (stuck in a tick), Stopping from the stop request on, without
//     waiting, so a load balancer stops sending clients while the
//     shutdown still flushes.
//   - Config.BeforeTick runs on the loop goroutine before every tick,
//     including the shutdown's, and once after the last: an Observer that
//     buffers what it sees flushes there, so everything a tick reported is
//     out before the loop polls again, and everything is out when Serve
//     returns.
//   - With Config.Record, every call the core makes to the kernel and its
//     result go to a recording (package netrec) that mobsim -replay runs
//     the core against: the recorder is the poller the core sees, so it
//     records what the core asked (any other wrapper of the kernel goes
//     under it); the stop request is recorded where the loop calls
//     Shutdown; the core's membership claims are recorded as notes; the
//     header holds the config in force (Listen refuses a config with a
//     field left to its default) and the catalog bugs switched on
//     (Config.Bugs). Serve
//     closes the recording with an end record, or on a panic flushes it
//     without one, so it reads as cut short where the core stopped.
//
// It adds no behaviour to the core: the loop is Server.Tick until
// Server.Done, with Shutdown at the first stop request.
package live
