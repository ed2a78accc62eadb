//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package netpoll

import "golang.org/x/sys/unix"

// send is write(2). SIGPIPE is kept away by setNoSigpipe (SO_NOSIGPIPE)
// rather than a per-call flag: darwin lacks MSG_NOSIGNAL before macOS 11,
// and writev(2) takes no flags anyway. (OpenBSD has no SO_NOSIGPIPE; see
// sock_openbsd.go.)
func send(fd int, p []byte) (int, error) {
	return unix.Write(fd, p)
}
