package wire

import "golang.org/x/sys/unix"

// bindAddressNoPort sets IP_BIND_ADDRESS_NO_PORT on a socket about to be
// bound to a source address: the port is then chosen at connect time,
// unique for the whole 4-tuple, instead of at bind time, unique for the
// source address. Without it a bind to 127.0.0.x:0 skips every port held
// by a TIME_WAIT socket of an earlier connection, and gets slow, then
// fails, as they pile up.
func bindAddressNoPort(fd int) error {
	return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
}
