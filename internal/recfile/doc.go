// Package recfile holds what describes a recording of the live server
// beside its calls: the configuration its header carries
// (netrec.Options.Config), everything a replay needs to build the same
// core; and the clients' account a soak writes next to it, what the far
// side of each connection saw, which a recording cannot hold. The live
// runner (internal/live) writes the first, cmd/mobsoak the second; the
// replay (sim.Replay, mobsim -replay) reads both.
//
// What it guarantees:
//
//   - The server's configuration is kept whole, field by field as
//     server.Config names them (Logger and Observer aside: wiring, not
//     configuration), so a field added to server.Config is recorded with
//     no change here.
//   - The catalog bugs switched on are kept by name, so a recording of the
//     catalog build replays with the same bugs (in the catalog build).
//   - Decoding refuses what this build cannot rebuild: a field this
//     build's server.Config does not have (the recording's build is
//     newer), a config the server would refuse, a document that is not
//     one; the error says which.
//   - An account names each connection by the recording's stream id and
//     says what its client's socket took and returned, by count and
//     CRC-32C: a few dozen bytes per connection, whatever it carried.
//     A bad line is an error naming the line.
package recfile
