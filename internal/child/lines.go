package child

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Lines keeps every line of a log and lets others wait for one: a child's
// standard error (Proc.Log), or, written to as an io.Writer, an in-process
// logger's output. It is safe for concurrent use.
type Lines struct {
	mu      sync.Mutex
	lines   []string
	tail    []byte        // a written line not ended yet
	changed chan struct{} // closed and replaced on every new line and at the end
	ended   bool
}

// lineBytesMax bounds one log line; a longer one ends the log (bufio's
// ErrTooLong), which a waiter sees as the end.
const lineBytesMax = 1 << 20

// NewLines returns an empty log to write to.
func NewLines() *Lines { return &Lines{changed: make(chan struct{})} }

// Write adds the lines in p; a last line without its newline waits for the
// rest.
func (l *Lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tail = append(l.tail, p...)
	for {
		i := bytes.IndexByte(l.tail, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.tail[:i]))
		l.tail = l.tail[i+1:]
		l.notify()
	}
	if len(l.tail) == 0 {
		l.tail = nil // let the written bytes go
	}
	return len(p), nil
}

// consume reads r line by line until it ends.
func (l *Lines) consume(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), lineBytesMax)
	for sc.Scan() {
		l.mu.Lock()
		l.lines = append(l.lines, sc.Text())
		l.notify()
		l.mu.Unlock()
	}
	l.end()
}

func (l *Lines) end() {
	l.mu.Lock()
	l.ended = true
	l.notify()
	l.mu.Unlock()
}

// notify wakes the waiters; l.mu is held.
func (l *Lines) notify() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// Wait returns the submatches of the first line matching re, waiting up to
// timeout for it to appear. ok is false at the timeout or if the log ended
// without one.
func (l *Lines) Wait(re *regexp.Regexp, timeout time.Duration) (m []string, ok bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		l.mu.Lock()
		lines, ended, changed := l.lines, l.ended, l.changed
		l.mu.Unlock()
		for ; seen < len(lines); seen++ {
			if m := re.FindStringSubmatch(lines[seen]); m != nil {
				return m, true
			}
		}
		if ended {
			return nil, false
		}
		select {
		case <-changed:
		case <-deadline.C:
			return nil, false
		}
	}
}

// Count returns how many lines match re so far.
func (l *Lines) Count(re *regexp.Regexp) int { return len(l.Matches(re)) }

// Matches returns the submatches of every line matching re so far.
func (l *Lines) Matches(re *regexp.Regexp) [][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out [][]string
	for _, line := range l.lines {
		if m := re.FindStringSubmatch(line); m != nil {
			out = append(out, m)
		}
	}
	return out
}

// Tail returns the last n lines as one text, saying how many came before.
func (l *Lines) Tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines, prefix := l.lines, ""
	if len(lines) > n {
		prefix = fmt.Sprintf("(%d earlier lines omitted)\n", len(lines)-n)
		lines = lines[len(lines)-n:]
	}
	return prefix + strings.Join(lines, "\n")
}
