package e2e

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mobsim/mobsim/internal/procfs"
	"github.com/mobsim/mobsim/server"
)

// BenchmarkNeverReaderKernelMemory measures the kernel memory one client
// that never reads makes the server's kernel hold before the server's own
// limit (-queue-bytes-max) bites: the bytes in the server socket's send
// queue once it stops growing, per -send-buf-bytes setting. RSS does not
// show it; it is what the README's sizing rule adds per connection. Run
// it with
//
//	go test ./e2e -run '^$' -bench NeverReaderKernelMemory -benchtime 1x
//
// Method: 20 never-readers (default SO_RCVBUF) join a child server with
// -queue-bytes-max 64 MiB (so nobody is evicted), and one client sends
// 60,000-byte frames until the send queues of the server's sockets toward
// the never-readers (/proc/net/tcp tx_queue) have not grown for 200 ms.
// Reported: that queue per never-reader (server-kernel-bytes/conn), and
// the growth of the whole system's TCP memory (/proc/net/sockstat; both
// ends of the loopback connections, and anything else running) per
// never-reader (system-tcp-bytes/conn).
func BenchmarkNeverReaderKernelMemory(b *testing.B) {
	for _, sendBuf := range []int{0, 16 << 10, 64 << 10, 256 << 10} {
		b.Run(fmt.Sprint("send-buf-bytes=", sendBuf), func(b *testing.B) {
			for range b.N {
				perConn, system := neverReaderKernelMemory(b, sendBuf)
				b.ReportMetric(perConn, "server-kernel-bytes/conn")
				b.ReportMetric(system, "system-tcp-bytes/conn")
			}
		})
	}
}

func neverReaderKernelMemory(b *testing.B, sendBuf int) (perConn, system float64) {
	const lazy = 20
	p := startMob(b, false, "-framing", "mob", "-queue-bytes-max", strconv.Itoa(64<<20), "-send-buf-bytes", strconv.Itoa(sendBuf))
	port, _ := strconv.Atoi(p.addr[strings.LastIndexByte(p.addr, ':')+1:])
	ports := map[int]bool{}
	var conns []*net.TCPConn
	for range lazy {
		c, err := dialErr(p.addr, sockOpts{})
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		ports[c.LocalAddr().(*net.TCPAddr).Port] = true
	}
	sender, err := dialErr(p.addr, sockOpts{})
	if err != nil {
		b.Fatal(err)
	}
	conns = append(conns, sender)
	defer func() {
		for _, c := range conns {
			c.SetLinger(0)
			c.Close()
		}
	}()
	go drain(sender)
	memBefore, _ := procfs.TCPMemPages()
	held := func() int64 {
		socks, err := procfs.TCPSockets()
		if err != nil {
			b.Fatal(err)
		}
		var sum int64
		for _, s := range socks {
			if s.LocalPort == port && ports[s.RemotePort] {
				sum += s.TxQueueBytes
			}
		}
		return sum
	}
	frame := server.FramingMob.Encode(nil, make([]byte, 60000))
	last, since := int64(-1), time.Now()
	for deadline := time.Now().Add(testTimeout); time.Since(since) < 200*time.Millisecond; {
		if time.Now().After(deadline) {
			b.Fatalf("the never-readers' send queues still grew after %v", testTimeout)
		}
		if _, err := sender.Write(frame); err != nil {
			b.Fatal(err)
		}
		time.Sleep(time.Millisecond)
		if h := held(); h != last {
			last, since = h, time.Now()
		}
	}
	memAfter, _ := procfs.TCPMemPages()
	return float64(last) / lazy, float64(memAfter-memBefore) * 4096 / lazy
}
