// Package procfs reads a process's memory, CPU time and open descriptors
// from Linux's /proc, for the soak tool, the e2e tests and the benchmark
// driver, which measure a server from outside as a child process. On other
// systems every function returns an error (there is no /proc to read).
package procfs

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Memory returns pid's resident set (VmRSS) and its peak (VmHWM), in bytes.
func Memory(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[2] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/status: %q: %w", pid, line, err)
		}
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			hwm = kb << 10
		}
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, fmt.Errorf("/proc/%d/status has no VmRSS or VmHWM", pid)
	}
	return rss, hwm, nil
}

// clockTicksPerSecond is USER_HZ, the unit of utime and stime in
// /proc/<pid>/stat. The kernel fixes it at 100 on every Linux architecture
// Go supports (sysconf(_SC_CLK_TCK) reports the same).
const clockTicksPerSecond = 100

// CPU returns pid's user plus system CPU time.
func CPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces;
	// fields 14 and 15 (utime, stime) are the 12th and 13th after it.
	s := string(b)
	rest := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(rest) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too short: %q", pid, s)
	}
	var ticks int64
	for _, f := range rest[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: field %q: %w", pid, f, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicksPerSecond, nil
}

// FDs lists pid's open descriptor numbers, sorted.
func FDs(pid int) ([]int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil, err
	}
	fds := make([]int, 0, len(ents))
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			return nil, fmt.Errorf("/proc/%d/fd: %w", pid, err)
		}
		fds = append(fds, fd)
	}
	slices.Sort(fds)
	return fds, nil
}

// FDList describes pid's open descriptors ("7 -> socket:[123]"), for a
// report on a leak.
func FDList(pid int) string {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err.Error()
	}
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		target, _ := os.Readlink(dir + "/" + e.Name())
		out = append(out, e.Name()+" -> "+target)
	}
	return strings.Join(out, ", ")
}
