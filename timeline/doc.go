// Package timeline is a run's history as a stream of structured events,
// and the two ways mobsim shows it: a text trace (Text) and a Chrome
// trace-event file that opens in Perfetto (Perfetto).
//
// A world produces Events from the facts it already has: the simulator
// from the fake kernel's records (netfake.Record), the server's claims
// (its Observer), its ticks and gauges, and the oracle's first violation;
// a replayed recording can do the same from the recorded calls. The
// writers read only the events' fields, never text, and need nothing
// else: which write delivered which frame, and how far each connection is
// behind, they work out from the reads, writes, joins, leaves and frame
// claims in the stream.
//
// What it guarantees:
//
//   - Determinism: the same stream gives the same bytes, in both forms (no
//     map is ranged, no clock is read), so two replays of a seed can be
//     compared with cmp.
//   - The Perfetto file follows the trace-event format's rules (each phase
//     with its fields, B/E pairs nested and in order per track, slices
//     nested, flows paired and bound to slices, every track named,
//     counters numeric); the tests check it with a validator of those
//     rules over simulated seeds.
//   - A violation is marked at its virtual time and step, in both forms.
//   - One numbering: a connection is named by its id and, where the world
//     knows it, its client ("conn 3 (client 2, chatty)"), the same string
//     the oracle's violations use.
package timeline
