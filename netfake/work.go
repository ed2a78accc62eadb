package netfake

import "time"

// Work makes the server's work take time and lets the network move while
// the server runs, so that a tick is not an instant: deadlines (linger,
// idle, back-off, shutdown) fall due in the middle of traffic, and data, a
// FIN or an RST can arrive between two syscalls of one tick, as on a real
// machine where the peers and the wire do not wait for the server.
//
// Every server syscall but Poll (Read, Write, Writev, CloseWrite, Close,
// Accept, Register, Reregister, Deregister, a listener's Close) costs
// SyscallCost, plus ByteCost per byte it moved, plus a jitter drawn in
// [0, Jitter]; then, with probability Transmit, one transmission step runs
// (as Step: a random part of what is on the wire arrives). The clock moves
// silently (the records carry the time; no KindAdvance per syscall), and
// SYN retries falling due on the way happen at their own times. The zero
// Work costs nothing and draws nothing from the rng, so a kernel without it
// behaves exactly as before it existed.
type Work struct {
	SyscallCost time.Duration // per server syscall
	ByteCost    time.Duration // per byte a Read, Write or Writev moved
	Jitter      time.Duration // up to this much more per syscall, rng-drawn
	Transmit    float64       // chance of a transmission step after each server syscall
}

// Off reports whether w costs nothing and moves nothing.
func (w Work) Off() bool { return w == Work{} }

// worked charges one server syscall that moved n bytes, then maybe lets the
// network move. Callers call it last, after the syscall's record and
// observer calls: what happens here happens after the call returned.
func (k *Kernel) worked(n int) {
	if k.workOff {
		return
	}
	w := &k.cfg.Work
	d := w.SyscallCost + time.Duration(n)*w.ByteCost
	if w.Jitter > 0 {
		d += time.Duration(k.rng.Int64N(int64(w.Jitter) + 1))
	}
	if d > 0 {
		k.spend(d)
	}
	if k.chance(w.Transmit) {
		k.transmit(false)
	}
}

// spend moves the clock forward by d for work done, without a record of
// its own; SYN retries due on the way happen at their times.
func (k *Kernel) spend(d time.Duration) {
	t := k.now + d
	if due, ok := k.nextDial(); ok && due <= t {
		k.runDials(t)
	}
	k.now = t
}
