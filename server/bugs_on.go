//go:build mobbugs

package server

import (
	"fmt"
	"strings"

	"github.com/mobsim/mobsim/kernel"
)

// The bug catalog: event-loop bugs that shipped in real servers, put back as
// knobs so the test suite can show it catches each one. Only builds with the
// mobbugs tag contain this file.

// BugInfo describes one knob.
type BugInfo struct {
	Name   string
	Source string // where the bug was seen
	What   string // one sentence
}

var bugCatalog = [bugCount]BugInfo{
	bugMissingToken:           {"missing-token", "mob (hjr3/mob, 2015)", "an event is handled without checking its token is live: a batch holding a read and a write event for one connection panics when the read closes it"},
	bugTokenReuse:             {"token-reuse", "mio#172, redis#333, libuv#971", "the generation is ignored, so a slot freed and reused inside one batch receives the old connection's stale hang-up, which kills the new connection"},
	bugNoDrainRead:            {"no-drain-read", "mio docs; common in edge-triggered code", "one read per readable event: data left in the socket is stranded because no new edge comes"},
	bugNoDrainAccept:          {"no-drain-accept", "mio#845", "one accept per listener event: connections left in the backlog are stranded"},
	bugDropOnWouldBlock:       {"drop-on-wouldblock", "common in naive event loops", "output is dropped instead of queued when a write would block"},
	bugPartialWriteTail:       {"partial-write-tail", "mob#21, evio#72", "a short write is treated as complete, losing its tail"},
	bugHupBeforeRead:          {"hup-before-read", "mob", "a read-closed or hang-up hint closes the connection before the frames sent ahead of the FIN are read"},
	bugSpuriousWritableCloses: {"spurious-writable-closes", "mob", "a writable event with nothing queued is taken as an error and closes a healthy connection"},
	bugSplitFrame:             {"split-frame", "mob (\"did not read enough bytes\")", "a frame is assumed to arrive in one read; the start of a split frame is thrown away"},
	bugLIFOQueue:              {"lifo-queue", "mob, before it switched to a deque", "queued frames are sent last-in-first-out"},
	bugUnboundedQueue:         {"unbounded-queue", "mob, gnet", "no per-connection queue limit: a client that never reads grows the server's memory without bound"},
	bugEMFILEStrandsBacklog:   {"emfile-strands-backlog", "classic accept-loop bug (libevent, nginx mailing lists)", "on EMFILE the server stops accepting and never retries, stranding the backlog"},
	bugFanoutErrorDropsSender: {"fanout-error-drops-sender", "mob", "a failed write to one peer closes the sender and skips the rest of the fan-out"},
	bugNoWritableInterest:     {"no-writable-interest", "common", "output is queued but writable interest is never registered, so nothing says when to flush it"},
}

// Bugs lists the catalog in order.
func Bugs() []BugInfo { return bugCatalog[:] }

type bugSet struct {
	on     [bugCount]bool
	last   *conn // sender of the latest frame (fanout-error-drops-sender)
	failed bool  // a fan-out write failed this flush
}

func (b *bugSet) has(id bugID) bool { return b.on[id] }

// EnableBug switches on the named bug for this server. Call it before the
// first Tick.
func (s *Server) EnableBug(name string) error {
	var names []string
	for id, b := range bugCatalog {
		if b.Name == name {
			s.bugs.on[id] = true
			return nil
		}
		names = append(names, b.Name)
	}
	return fmt.Errorf("unknown bug %q (known: %s)", name, strings.Join(names, ", "))
}

func (b *bugSet) noteSender(c *conn) { b.last = c }
func (b *bugSet) sender() *conn      { return b.last }
func (b *bugSet) setFanoutFailed()   { b.failed = true }
func (b *bugSet) takeFanoutFailed() bool {
	f := b.failed
	b.failed = false
	return f
}

// lifo returns the pending bytes a+b with their frames in reverse order.
// Only the lifo-queue bug uses it.
func (s *Server) lifo(a, b []byte) ([]byte, []byte) {
	all := append(append([]byte(nil), a...), b...)
	var frames [][]byte
	for rest := all; len(rest) > 0; {
		n, err := s.cfg.Framing.Scan(rest, s.cfg.FrameBytesMax)
		if err != nil || n == 0 {
			frames = append(frames, rest)
			break
		}
		frames = append(frames, rest[:n])
		rest = rest[n:]
	}
	out := make([]byte, 0, len(all))
	for i := len(frames) - 1; i >= 0; i-- {
		out = append(out, frames[i]...)
	}
	return out, nil
}

// bySlot returns the connection in tok's slot whatever its generation. Only
// the token-reuse bug uses it.
func (t *table) bySlot(tok kernel.Token) *conn {
	if slot := slotOf(tok); uint64(slot) < uint64(len(t.conns)) {
		return t.conns[slot]
	}
	return nil
}
