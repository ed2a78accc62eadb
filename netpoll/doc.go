// Package netpoll is mobsim's real kernel: the kernel.Poller, kernel.Listener
// and kernel.Stream seam implemented on real TCP sockets, with epoll on Linux
// and kqueue on macOS, FreeBSD, NetBSD, OpenBSD and DragonFly BSD, through
// golang.org/x/sys/unix. cmd/mob runs the server on it; netfake is checked
// against it.
//
// What it guarantees, beyond the contract in package kernel:
//
//   - Edge-triggered registrations: EPOLLET|EPOLLRDHUP on Linux, EV_CLEAR on
//     kqueue. Registering or reregistering re-checks every side it asks
//     for, kept or new, so a socket with room yields a writable edge and
//     one holding data, a FIN or an error a readable one: EPOLL_CTL_MOD
//     does that on Linux; on kqueue Reregister adds each wanted filter
//     again (EV_ADD re-checks an existing one) and deletes each unwanted
//     one, as mio does.
//   - A registration belongs to its source, as epoll_ctl has it: Register
//     of a registered source fails with EEXIST, Reregister and Deregister
//     of one that is not registered with ENOENT. On kqueue the fd table
//     that maps events to tokens names the source of each entry, so a new
//     source on the number of one closed without Deregister is not
//     registered. Register is all or nothing; Deregister tries both
//     filters and forgets the token whatever they return.
//   - Hints: a reset is ReadyError on both kqueue filters (EV_EOF with the
//     socket error in fflags), as EPOLLERR is on Linux.
//   - Every descriptor it creates (sockets, accepted sockets, the epoll or
//     kqueue descriptor, the wake-up eventfd or pipe) is non-blocking and
//     close-on-exec.
//   - No SIGPIPE: Linux sends with MSG_NOSIGNAL; darwin, FreeBSD, NetBSD and
//     DragonFly set SO_NOSIGPIPE on every socket. OpenBSD has MSG_NOSIGNAL
//     but no SO_NOSIGPIPE, and writev(2), which Writev needs, takes no
//     flags, so it writes with write(2) and writev(2) and relies on the Go
//     runtime, which discards SIGPIPE for descriptors other than stdout and
//     stderr unless os/signal asks for it (the write returns EPIPE).
//   - EINTR never reaches the caller: reads, writes, accepts and connects are
//     retried, and Poll retries its wait with the remaining timeout, so it
//     never returns kernel.ErrInterrupted.
//   - Poll fills at most 256 events per call (a fixed array in the Poller, so
//     polling does not allocate). A positive timeout below a millisecond is
//     rounded up to one on Linux (epoll counts in milliseconds). Timeouts are
//     capped at about 24 days on Linux and at 1e6 s (11.6 days) on kqueue,
//     past which darwin's kevent fails with EINVAL; a longer timeout
//     returns no events at the cap, and the caller polls again. kevent's ETIMEDOUT, seen on darwin (golang/go#59679; Go's
//     runtime ignores it), is a wait that ended with no events.
//   - Wake may be called from any goroutine; it makes a blocked Poll, or the
//     next one, return. Its own event never reaches the caller, which is why
//     ReservedToken cannot be registered.
//   - Conn.Writev writes up to 16 buffers without allocating; more buffers
//     make a short write. It is one system call: sendmsg on Linux, writev
//     elsewhere. On darwin and OpenBSD, whose system calls go through libc,
//     it is x/sys/unix's Writev, which keeps 8 iovecs on its stack, so 9 to
//     16 buffers take a second writev when the first wrote everything.
//   - Poller.WriteBatch (kernel.BatchWriter) never blocks and does not
//     allocate. On Linux it submits a batch's writes to an io_uring ring as
//     SENDMSG requests with MSG_DONTWAIT|MSG_NOSIGNAL, one io_uring_enter
//     per batch of up to Config.RingEntries writes; where io_uring is
//     missing, refused (ENOSYS, EPERM: seccomp, kernel.io_uring_disabled) or
//     turned off (Config.NoIOUring), and on the other systems, it makes one
//     Writev per write. New decides which once; BatchPath says which and
//     why, for the caller to log.
//   - Errors other than would-block carry context and wrap the syscall.Errno,
//     so errors.Is(err, syscall.ECONNRESET) and the like work.
//
// What Linux reports (observed on loopback, kept here for netfake's Linux
// mode; none of it beyond the seam's contract is promised to callers):
//
//   - Every arrival re-arms EPOLLIN, read or not; each event carries the
//     whole current mask, so with write interest an arrival reports
//     EPOLLIN|EPOLLOUT. A listener re-arms on each new pending connection.
//   - A peer's FIN: EPOLLIN|EPOLLRDHUP (plus EPOLLOUT with write interest).
//   - A peer's RST (Abort, or close with unread data):
//     EPOLLIN|EPOLLRDHUP|EPOLLHUP|EPOLLERR, plus EPOLLOUT with write
//     interest, in one event. The first Read or Write returns
//     ECONNRESET; after it, Read returns io.EOF and Write EPIPE.
//   - The first Write after a peer's plain close succeeds (the peer answers
//     with an RST); later ones fail.
//   - Our own CloseWrite makes an EPOLLOUT event; FIN both ways adds
//     EPOLLHUP.
//   - With SO_SNDBUF 4096 on the sender and SO_RCVBUF 4096 on the receiver,
//     Write returns would-block after about 9 KiB.
//
// A Poller is used by one goroutine (the event loop), except for Wake. A
// Listener or Conn is not safe for concurrent use.
package netpoll
