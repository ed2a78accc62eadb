package netpoll

// setNoSigpipe does nothing: OpenBSD has no SO_NOSIGPIPE. A write to a
// broken connection raises SIGPIPE, which the Go runtime discards for
// descriptors other than stdout and stderr (unless os/signal asks for it);
// the write itself returns EPIPE.
func setNoSigpipe(int) error { return nil }
