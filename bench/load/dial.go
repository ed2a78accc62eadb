package load

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mobsim/mobsim/internal/wire"
)

// sourceIPsMax is how many 127.0.0.x source addresses a dialer rotates over:
// with ~28k ephemeral ports each, room for a million connections (TIME_WAIT
// included) to one server port.
const sourceIPsMax = 64

// dialer opens loopback connections, rotating over source addresses.
type dialer struct {
	addr    string
	sources []net.IP // nil entries: let the kernel choose
	next    atomic.Uint32
	timeout time.Duration
}

// newDialer checks that addr is a loopback address; this package never
// sends anywhere else.
func newDialer(addr string, sources int) (*dialer, error) {
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, err
	}
	if !ta.IP.IsLoopback() || ta.IP.To4() == nil {
		return nil, fmt.Errorf("target %s is not an IPv4 loopback address", addr)
	}
	d := &dialer{addr: addr, timeout: 10 * time.Second}
	sources = max(1, min(sources, sourceIPsMax))
	for i := range sources {
		d.sources = append(d.sources, net.IPv4(127, 0, 0, byte(2+i)))
	}
	if sources == 1 {
		d.sources[0] = nil
	}
	return d, nil
}

// dial connects from the next source address; the port is left to the
// connect (wire.Dial), so TIME_WAIT of earlier runs does not slow it.
func (d *dialer) dial() (*net.TCPConn, error) {
	src := d.sources[int(d.next.Add(1))%len(d.sources)]
	return wire.Dial(d.addr, wire.DialOptions{Source: src, Timeout: d.timeout})
}

// dialMany opens n connections with at most par connects in flight, so the
// listen backlog (and SYN retransmits after a drop, a whole second each) do
// not distort connect times.
func (d *dialer) dialMany(ctx context.Context, n, par int) ([]*net.TCPConn, error) {
	conns := make([]*net.TCPConn, n)
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		mu    sync.Mutex
		first error
	)
	for range min(par, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				c, err := d.dial()
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("dial %d of %d: %w", i+1, n, err)
					}
					mu.Unlock()
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	if first != nil {
		closeAll(conns)
		return nil, first
	}
	return conns, nil
}

// closeAll closes conns with an RST (SO_LINGER 0) rather than a FIN: the
// teardown of a scenario is not measured, and an RST leaves no TIME_WAIT
// behind to slow down the connects of the next run.
func closeAll(conns []*net.TCPConn) {
	for _, c := range conns {
		if c != nil {
			_ = c.SetLinger(0)
			c.Close()
		}
	}
}
