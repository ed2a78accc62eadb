package e2e

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// This file reads the kernel's view of TCP sockets: /proc/net/tcp for the
// send queue of each server-side socket, /proc/net/sockstat for the memory
// of all of them. The server's own RSS does not include either.

// tcpSocket is one line of /proc/net/tcp or /proc/net/tcp6.
type tcpSocket struct {
	localPort, remotePort int
	state                 string // the kernel's number for it, in hex: 01 established, 04 FIN_WAIT1, ...
	txQueue               int64  // bytes written and not acknowledged (listeners: the backlog)
}

// tcpSockets lists the sockets of this network namespace.
func tcpSockets() ([]tcpSocket, error) {
	var out []tcpSocket
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // the header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 5 {
				continue
			}
			s, err := parseTCPLine(fields)
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: %q: %w", name, sc.Text(), err)
			}
			out = append(out, s)
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return out, nil
}

// parseTCPLine reads "sl local rem st tx:rx ...", addresses as HEXIP:HEXPORT.
func parseTCPLine(fields []string) (tcpSocket, error) {
	port := func(addr string) (int, error) {
		i := strings.LastIndexByte(addr, ':')
		p, err := strconv.ParseUint(addr[i+1:], 16, 16)
		return int(p), err
	}
	var s tcpSocket
	var err error
	if s.localPort, err = port(fields[1]); err != nil {
		return s, err
	}
	if s.remotePort, err = port(fields[2]); err != nil {
		return s, err
	}
	s.state = fields[3]
	tx, _, ok := strings.Cut(fields[4], ":")
	if !ok {
		return s, fmt.Errorf("no tx:rx in %q", fields[4])
	}
	s.txQueue, err = strconv.ParseInt(tx, 16, 64)
	return s, err
}

// tcpMemPages is the "mem" figure of /proc/net/sockstat's TCP line: pages
// of memory all TCP sockets of the system hold (socket buffers, queued
// and orphaned data), what the kernel compares with net.ipv4.tcp_mem.
func tcpMemPages() (int64, error) {
	b, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "TCP:" {
			continue
		}
		for i := 1; i+1 < len(f); i += 2 {
			if f[i] == "mem" {
				return strconv.ParseInt(f[i+1], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("/proc/net/sockstat: no TCP mem figure")
}
