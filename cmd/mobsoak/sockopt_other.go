//go:build !linux

package main

import "syscall"

// sourcesDefault is 1 outside Linux: macOS and the BSDs configure only
// 127.0.0.1 on the loopback interface by default.
const sourcesDefault = 1

// setDialOptions prepares a client socket before it connects.
func setDialOptions(fd, rcvBuf int) error {
	if rcvBuf > 0 {
		return syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvBuf)
	}
	return nil
}
