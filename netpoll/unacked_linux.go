package netpoll

import (
	"fmt"

	"github.com/mobsim/mobsim/kernel"
	"golang.org/x/sys/unix"
)

var _ kernel.UnackedCounter = (*Conn)(nil)

// UnackedBytes returns the bytes written that the peer has not
// acknowledged (SIOCOUTQ: the send queue's write_seq - snd_una). Linux
// counts the FIN as one more byte from CloseWrite until the peer
// acknowledges it.
func (c *Conn) UnackedBytes() (int, error) {
	n, err := unix.IoctlGetInt(c.fd, unix.SIOCOUTQ)
	if err != nil {
		return 0, fmt.Errorf("netpoll: ioctl SIOCOUTQ %v: %w", c, err)
	}
	return n, nil
}
