package netpoll

import (
	"fmt"

	"github.com/mobsim/mobsim/kernel"
	"golang.org/x/sys/unix"
)

var _ kernel.UnackedCounter = (*Conn)(nil)

// fionwrite is FreeBSD's FIONWRITE, _IOR('f', 119, int) in sys/filio.h
// ("get # bytes (yet) in send queue"); x/sys/unix does not define it.
const fionwrite = 0x40046677

// UnackedBytes returns the bytes in the socket's send queue (FIONWRITE):
// TCP keeps a byte there until the peer acknowledges it, so these are the
// bytes unsent or unacknowledged. The FIN is not counted.
func (c *Conn) UnackedBytes() (int, error) {
	n, err := unix.IoctlGetInt(c.fd, fionwrite)
	if err != nil {
		return 0, fmt.Errorf("netpoll: ioctl FIONWRITE %v: %w", c, err)
	}
	return n, nil
}
