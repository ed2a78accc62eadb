package kernel

// UnackedCounter is implemented by streams whose kernel can tell how much
// of what was written the peer has not acknowledged yet: Linux (the
// SIOCOUTQ ioctl), macOS (SO_NWRITE) and FreeBSD (FIONWRITE). It is
// optional: the other BSDs cannot tell, and a caller that finds no
// UnackedCounter waits for the peer's FIN or a deadline instead.
//
// It is what makes a close safe to do early. A byte the peer acknowledged
// is in the peer's kernel, and a reset that follows (Close with input left
// unread, or Abort) cannot take it back; a byte not yet acknowledged dies
// with the reset. So once UnackedBytes reports 0 after CloseWrite, closing
// costs the peer nothing, whatever it still sends.
type UnackedCounter interface {
	// UnackedBytes returns how many bytes written to the stream (by Write,
	// Writev or a BatchWriter) the peer has not acknowledged, unsent bytes
	// included. Where the kernel counts the FIN that CloseWrite sends as a
	// byte of the stream (Linux does), it is one more until the peer
	// acknowledges the FIN, so 0 after CloseWrite means the peer has every
	// byte and the FIN; elsewhere 0 means every byte. After a reset the
	// count stops falling (nothing more will be acknowledged): Read and
	// Write report the reset. It never blocks. An error (errors.Is
	// ENOTSUP where the kernel cannot tell for this stream) means no
	// count: the caller falls back as if the interface were absent.
	UnackedBytes() (int, error)
}

// Aborter is implemented by streams that can be closed abortively: at
// once, with a reset (TCP's RST, from SO_LINGER of zero seconds) instead
// of a FIN. A server uses it to drop a connection it is evicting, so that
// the kernel frees the stream's send buffer at once instead of keeping it
// for a peer that does not read (an orphaned socket holds its unsent bytes
// for as long as the kernel keeps probing a closed window: a minute or
// more). It is optional: without it, Close is the only way.
type Aborter interface {
	// Abort releases the source and its registration, as Close does, and
	// discards what the peer has not acknowledged: the kernel frees the
	// buffers at once, and the peer's reads fail with a reset (typically
	// ECONNRESET) once it has read what it had already received, or end
	// (io.EOF) if it had received a FIN before.
	Abort() error
}
