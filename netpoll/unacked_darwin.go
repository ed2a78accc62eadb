package netpoll

import (
	"fmt"

	"github.com/mobsim/mobsim/kernel"
	"golang.org/x/sys/unix"
)

var _ kernel.UnackedCounter = (*Conn)(nil)

// UnackedBytes returns the bytes in the socket's send buffer (SO_NWRITE):
// TCP keeps a byte there until the peer acknowledges it, so these are the
// bytes unsent or unacknowledged. The FIN is not counted.
func (c *Conn) UnackedBytes() (int, error) {
	n, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_NWRITE)
	if err != nil {
		return 0, fmt.Errorf("netpoll: getsockopt SO_NWRITE %v: %w", c, err)
	}
	return n, nil
}
