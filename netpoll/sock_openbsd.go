package netpoll

// setNoSigpipe does nothing: OpenBSD has no SO_NOSIGPIPE. It has
// MSG_NOSIGNAL, but Writev's writev(2) takes no flags and x/sys/unix has no
// allocation-free sendmsg for several buffers (SendmsgBuffers allocates its
// iovecs), so Write and Writev both use the plain calls. A write to a broken
// connection then raises SIGPIPE, which the Go runtime discards for
// descriptors other than stdout and stderr (unless os/signal asks for it);
// the write itself returns EPIPE.
func setNoSigpipe(int) error { return nil }
