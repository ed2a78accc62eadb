package main

import "golang.org/x/sys/unix"

// sourcesDefault is how many 127.0.0.x source addresses the clients use:
// Linux routes all of 127.0.0.0/8 to the loopback interface.
const sourcesDefault = 8

// setDialOptions prepares a client socket before it binds and connects.
// IP_BIND_ADDRESS_NO_PORT defers the choice of the local port to the
// connect, so it is unique per destination instead of per source address
// and TIME_WAIT ports can be reused on loopback (net.ipv4.tcp_tw_reuse).
func setDialOptions(fd, rcvBuf int) error {
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1); err != nil {
		return err
	}
	if rcvBuf > 0 {
		return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvBuf)
	}
	return nil
}
