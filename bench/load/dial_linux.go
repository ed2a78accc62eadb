package load

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// bindNoPort sets IP_BIND_ADDRESS_NO_PORT on a socket about to be bound to a
// source address: the port is then chosen at connect time, unique for the
// whole 4-tuple, instead of at bind time, unique for the source address.
// Without it a bind to 127.0.0.x:0 skips every port held by a TIME_WAIT
// socket of an earlier run, and gets slow, then fails, as they pile up.
func bindNoPort(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
