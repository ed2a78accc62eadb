package wire

import (
	"net"
	"syscall"
	"time"
)

// DialOptions are what Dial sets on a client socket. Zero fields leave the
// system's defaults.
type DialOptions struct {
	RcvBufBytes int           // SO_RCVBUF, before the connect (Linux doubles it)
	SndBufBytes int           // SO_SNDBUF, before the connect
	Source      net.IP        // local address to bind, with the port left to the connect
	Timeout     time.Duration // bound on the connect
	Deadline    time.Time     // read and write deadline of the connection
}

// Dial connects to addr over TCP with o's options.
func Dial(addr string, o DialOptions) (*net.TCPConn, error) {
	d := net.Dialer{Timeout: o.Timeout, Control: o.control}
	if o.Source != nil {
		d.LocalAddr = &net.TCPAddr{IP: o.Source}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	tc := c.(*net.TCPConn)
	if !o.Deadline.IsZero() {
		if err := tc.SetDeadline(o.Deadline); err != nil {
			tc.Close()
			return nil, err
		}
	}
	return tc, nil
}

// control sets the options on the socket before it binds and connects.
func (o DialOptions) control(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		if o.Source != nil {
			serr = bindAddressNoPort(int(fd))
		}
		if o.RcvBufBytes > 0 && serr == nil {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, o.RcvBufBytes)
		}
		if o.SndBufBytes > 0 && serr == nil {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, o.SndBufBytes)
		}
	})
	if err != nil {
		return err
	}
	return serr
}
