// Package recconfig is the configuration a recording of the live server
// carries in its header (netrec.Options.Config): everything a replay needs
// to build the same core. The live runner (internal/live) writes it; the
// replay (sim.Replay, mobsim -replay) reads it.
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
package recconfig
