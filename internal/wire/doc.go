// Package wire is the client's side of the server's wire, for the live
// tools and tests that play clients (cmd/mobsoak, the e2e tests, cmd/mob's
// tests, the benchmark's load generator): dialing with the socket options
// that must be set before the connect, and reading frames of either
// framing off a byte stream. Frames are written with server.Framing.Encode.
//
// What it guarantees:
//
//   - Dial sets buffer sizes before the connect, so the TCP window they
//     shape is in force from the handshake on; with a source address on
//     Linux it sets IP_BIND_ADDRESS_NO_PORT, so the local port is picked at
//     connect time, unique per destination, and many source addresses do
//     not each exhaust the ephemeral ports (TIME_WAIT included).
//   - A Reader returns whole frame bodies in order; a clean end of stream
//     as io.EOF; a stream cut inside a frame as the encoded bytes read of
//     that frame with ErrPartial; a mob header announcing more than the
//     reader's bound as ErrTooLarge, without reading the body.
package wire
