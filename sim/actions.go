package sim

import (
	"encoding/binary"

	"github.com/mobsim/mobsim/oracle"
	"github.com/mobsim/mobsim/server"
)

// phase is what the world asks of its clients in a step.
type phase uint8

const (
	phaseFault    phase = iota // clients follow their scripts
	phaseDrain                 // they start nothing new: finish what they queued, send a FIN they owe, read everything
	phaseShutdown              // the server shuts down: as the drain, but stubborn clients keep talking
)

// act runs one step of c's script. Outside the fault phase clients start
// nothing new: they finish writing what they queued, send a FIN they owe,
// and read everything; only a stubborn client that was told to go keeps
// talking during a shutdown.
func (r *run) act(c *client, ph phase) {
	drain := ph != phaseFault
	if c.gone {
		return
	}
	if c.conn == nil {
		if drain || c.finished || r.step < c.spec.Start || r.step < c.again {
			return
		}
		r.connect(c)
		return
	}
	if drain && c.conn.Connecting() {
		// The backlog dropped its SYN and the retry has not come: a
		// client that starts nothing new gives the connect up (it
		// never reached the server).
		r.tracef("client", c.id, "client %d gives up its connect in progress", c.idx)
		_ = c.conn.Close()
		r.gone(c, false)
		return
	}
	framing := r.srv.Config().Framing
	// A talker goes on talking through a shutdown, as a user's client
	// does: it cannot know the server is leaving until its FIN.
	talking := c.spec.Kind == Talker && r.tearing && !c.gotEOF
	switch {
	case !drain || talking:
		r.script(c, framing)
		if c.gone || c.conn == nil {
			return
		}
	case ph == phaseShutdown && c.spec.Stubborn:
		c.told = true // the shutdown tells everyone to go
		r.keepTalking(c, framing)
	}
	if c.spec.Kind != Dribbler || r.step%dribbleEverySteps == 0 {
		if err := c.writeSome(r.rng, r.o, writeLimit(c.spec.Kind)); isGone(err) {
			r.tracef("client", c.id, "client %d write: %v", c.idx, err)
			r.gone(c, false)
			return
		}
	}
	if drain {
		for len(c.out) > 0 && c.spec.Kind != Dribbler {
			w := len(c.out)
			if err := c.writeSome(r.rng, r.o, -1); isGone(err) {
				r.gone(c, false)
				return
			}
			if len(c.out) == w {
				break // flow control: the rest next step
			}
		}
		if c.spec.Kind == HalfCloser && len(c.out) == 0 && !c.finSent {
			r.shutWrite(c)
		}
	}
	limit := -1
	if !drain || talking {
		switch c.spec.Kind {
		case NeverReader:
			return
		case SlowReader:
			if r.rng.IntN(5) != 0 {
				return
			}
			limit = 1 + r.rng.IntN(16)
		case Talker:
			limit = talkerReadBytes
		}
	}
	err := c.readSome(limit, func(p []byte) {
		r.o.ClientReceived(c.id, p)
		c.recv += uint64(len(p))
	})
	if isGone(err) {
		r.tracef("client", c.id, "client %d read: %v", c.idx, err)
		r.o.ClientEnded(c.id, oracle.EndReset)
		r.gone(c, false)
		return
	}
	if c.gotEOF {
		r.o.ClientEnded(c.id, oracle.EndEOF) // the first end is the one kept
		if c.spec.Stubborn && ph != phaseDrain {
			// The server's FIN said it is done with us; a stubborn
			// client keeps its socket and goes on sending until a
			// write fails.
			if !c.keptOn {
				c.keptOn, c.told = true, true
				r.tracef("client", c.id, "client %d got EOF after %d bytes; keeps talking", c.idx, c.recv)
			}
			return
		}
		// Like nc: the server is done with us, so close our side too.
		r.tracef("client", c.id, "client %d got EOF after %d bytes; closes", c.idx, c.recv)
		_ = c.conn.Close()
		r.gone(c, false)
	}
}

// keepTalking is a stubborn client that was told to go (its error frame,
// the server's FIN, a shutdown): it queues more frames, unread by anyone.
func (r *run) keepTalking(c *client, f server.Framing) {
	if r.rng.IntN(2) == 0 {
		c.queueFrame(r.rng, f)
	}
}

// gone marks c's connection finished (closed, reset, or failed) for the
// client and for the oracle.
func (r *run) gone(c *client, reset bool) {
	c.gone = true
	r.o.ClientGone(c.id, reset)
}

func (r *run) connect(c *client) {
	r.connecting = c
	conn, err := r.k.Connect(r.ln)
	r.connecting = nil
	if err != nil {
		c.refused++
		c.again = r.step + 1 + r.rng.IntN(10)
		r.tracef("client", 0, "client %d connect refused: %v", c.idx, err)
		return
	}
	c.conn, c.id = conn, conn.ID()
	c.sent, c.out, c.recv, c.wrote, c.finSent, c.gotEOF, c.told, c.keptOn = 0, nil, 0, 0, false, false, false, false
	r.o.ClientConnected(c.id, connLabel(c.id, c))
	if conn.Connecting() {
		r.tracef("client", c.id, "client %d (%v) connects; the backlog is full, its SYN will be retried", c.idx, c.spec.Kind)
		return
	}
	r.tracef("client", c.id, "client %d (%v) connects", c.idx, c.spec.Kind)
}

func (r *run) shutWrite(c *client) {
	c.finSent = true
	r.tracef("client", c.id, "client %d sends FIN after %d frames", c.idx, c.sent)
	if err := c.conn.ShutdownWrite(); isGone(err) {
		r.gone(c, false)
	}
}

// script decides what c sends this step, by kind.
func (r *run) script(c *client, f server.Framing) {
	if c.spec.Stubborn && c.told {
		r.keepTalking(c, f)
		return
	}
	rng := r.rng
	more := c.sent < c.spec.Frames
	switch c.spec.Kind {
	case Chatty, SlowReader, NeverReader:
		if more && rng.IntN(2) == 0 {
			c.queueFrame(rng, f)
		}
	case Bursty:
		if more && rng.IntN(10) == 0 {
			for n := 5 + rng.IntN(30); n > 0 && c.sent < c.spec.Frames; n-- {
				c.queueFrame(rng, f)
			}
		}
	case HalfCloser:
		if more && rng.IntN(2) == 0 {
			c.queueFrame(rng, f)
		}
		if !more && !c.tailQueued {
			c.tailQueued = true
			if rng.IntN(3) == 0 {
				// Half-close mid-frame: the start of one more frame, then
				// FIN. The server must drop it and deliver all before it.
				frame := f.Encode(nil, c.body(rng, f, 1+rng.IntN(c.spec.BodyMax)))
				c.out = append(c.out, frame[:rng.IntN(len(frame))]...)
				r.tracef("client", c.id, "client %d queues part of a frame before its FIN", c.idx)
			}
		}
		if !more && len(c.out) == 0 && !c.finSent {
			r.shutWrite(c)
		}
	case Resetter:
		if more && rng.IntN(2) == 0 {
			c.queueFrame(rng, f)
		}
		if c.sent >= max(1, c.spec.Frames/2) && rng.IntN(10) == 0 {
			r.tracef("client", c.id, "client %d resets with %d bytes unsent", c.idx, len(c.out))
			_ = c.conn.Reset()
			r.gone(c, true)
		}
	case Reconnecter:
		if more && rng.IntN(2) == 0 {
			c.queueFrame(rng, f)
		}
		if !more && len(c.out) == 0 && rng.IntN(3) == 0 {
			r.tracef("client", c.id, "client %d closes to reconnect", c.idx)
			_ = c.conn.Close()
			r.o.ClientGone(c.id, false)
			c.conn = nil
			c.rounds++
			c.again = r.step + 1 + rng.IntN(20)
			if c.rounds >= 3 {
				c.finished = true
			}
		}
	case Oversized:
		if more && rng.IntN(2) == 0 {
			if c.sent == c.spec.Frames/2 {
				r.queueBad(c, f)
			} else {
				c.queueFrame(rng, f)
			}
		}
	case Idler:
	case Talker:
		if (more || r.tearing) && rng.IntN(2) == 0 {
			c.queueFrame(rng, f)
		}
	case Dribbler:
		if c.sent < min(c.spec.Frames, dribbleFramesMax) && len(c.out) == 0 {
			c.queueFrame(rng, f)
		}
	case Holder:
		if c.sent == 0 {
			// All of a largest frame but its last byte, never finished.
			frame := f.Encode(nil, c.body(rng, f, r.srv.Config().FrameBytesMax))
			c.out = append(c.out, frame[:len(frame)-1]...)
			c.sent++
			r.tracef("client", c.id, "client %d queues all of a %d-byte frame but its last byte", c.idx, len(frame))
		}
	case Flooder:
		for n := 0; n < floodFramesPerStep && c.sent < floodFramesPer*c.spec.Frames; n++ {
			c.queueFrame(rng, f)
		}
	}
}

// Paces of the clients of issue 11.
const (
	talkerReadBytes    = 64 // a talker reads at most this much per step
	dribbleEverySteps  = 7  // a dribbler writes one byte every this many steps
	dribbleFramesMax   = 3  // and sends no more frames than this
	floodFramesPerStep = 20 // a flooder queues this many frames per step
	floodFramesPer     = 10 // up to this many times its spec's frames
)

// writeLimit is what a client of kind k hands the kernel per write at
// most (-1: no limit): a dribbler one byte.
func writeLimit(k Kind) int {
	if k == Dribbler {
		return 1
	}
	return -1
}

// queueBad queues a frame the server must refuse: one byte over the limit,
// or for mob framing sometimes a header with the sign bit set.
func (r *run) queueBad(c *client, f server.Framing) {
	bodyMax := r.srv.Config().FrameBytesMax
	if f == server.FramingMob && r.rng.IntN(2) == 0 {
		c.out = binary.BigEndian.AppendUint64(c.out, 1<<63|uint64(r.rng.IntN(100)))
	} else {
		c.out = f.Encode(c.out, c.body(r.rng, f, bodyMax+1+r.rng.IntN(50)))
	}
	c.sent++
	c.told = true // its error frame will say so; a stubborn client goes on anyway
	r.tracef("client", c.id, "client %d queues a bad frame", c.idx)
}
