package procfs

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// TCPSocket is one socket of /proc/net/tcp or /proc/net/tcp6: the kernel's
// view of it, which a process's RSS does not include.
type TCPSocket struct {
	LocalPort, RemotePort int
	// State is the kernel's number for the TCP state: 1 established, 4
	// FIN_WAIT1, 8 CLOSE_WAIT, 10 listening, ...
	State int
	// TxQueueBytes is what the socket holds written and not yet
	// acknowledged by the peer (for a listener: its accept backlog).
	TxQueueBytes int64
}

// TCPSockets lists the TCP sockets of the calling process's network
// namespace, IPv4 and IPv6.
func TCPSockets() ([]TCPSocket, error) {
	var out []TCPSocket
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		socks, err := readTCPTable(name)
		if err != nil {
			return nil, err
		}
		out = append(out, socks...)
	}
	return out, nil
}

func readTCPTable(name string) ([]TCPSocket, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []TCPSocket
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		s, err := parseTCPLine(strings.Fields(sc.Text()))
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", name, sc.Text(), err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// parseTCPLine reads "sl local rem st tx:rx ...", addresses as
// HEXADDR:HEXPORT and the state in hex.
func parseTCPLine(fields []string) (TCPSocket, error) {
	var s TCPSocket
	if len(fields) < 5 {
		return s, fmt.Errorf("%d fields, want at least 5", len(fields))
	}
	hex := func(v string) (int64, error) { return strconv.ParseInt(v, 16, 64) }
	port := func(addr string) (int, error) {
		p, err := hex(addr[strings.LastIndexByte(addr, ':')+1:])
		return int(p), err
	}
	var err error
	if s.LocalPort, err = port(fields[1]); err != nil {
		return s, err
	}
	if s.RemotePort, err = port(fields[2]); err != nil {
		return s, err
	}
	st, err := hex(fields[3])
	if err != nil {
		return s, err
	}
	s.State = int(st)
	tx, _, ok := strings.Cut(fields[4], ":")
	if !ok {
		return s, fmt.Errorf("no tx:rx in %q", fields[4])
	}
	s.TxQueueBytes, err = hex(tx)
	return s, err
}

// TCPMemPages is the "mem" figure of /proc/net/sockstat's TCP line: the
// pages of memory all TCP sockets of the system hold (buffers, queued and
// orphaned data), which the kernel compares with net.ipv4.tcp_mem.
func TCPMemPages() (int64, error) {
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
