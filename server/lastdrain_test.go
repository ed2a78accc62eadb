package server

import (
	"strings"
	"testing"
	"time"
)

// A leaver is closed only after its last drain: what its peer sent is read
// to would-block first (past the tick's read budget), so the close is a
// FIN and resets nothing; a peer that has acknowledged everything but goes
// on sending past LingerBytesMax in that drain is cut (linger-bytes, an
// abort), since it is owed nothing. Each case is shown at its boundary:
// the read the leave left queued takes the tick's budget (10 bytes) first,
// then the drain takes up to LingerBytesMax (100) more to would-block; one
// byte more is more than LingerBytesMax.
func TestLastDrainBeforeClose(t *testing.T) {
	for _, tc := range []struct {
		waiting int
		want    CloseReason
		aborted bool
	}{
		{waiting: 0, want: ReasonFrameTooLarge},
		{waiting: 110, want: ReasonFrameTooLarge}, // the budget, then LingerBytesMax: drained to would-block
		{waiting: 111, want: ReasonLingerBytes, aborted: true},
	} {
		h := newHarness(t, Config{FrameBytesMax: 8, LingerBytesMax: 100, ReadBytesPerTickMax: 10, LingerTimeout: time.Hour})
		c := h.connect(1)
		c[0].unacked = 1 // not yet: it waits for the ack timer
		h.send(c[0], strings.Repeat("x", 9))
		if c[0].closed || !c[0].wclosed {
			t.Fatalf("closed %v, FIN sent %v; want it waiting for its peer", c[0].closed, c[0].wclosed)
		}
		c[0].in = append(c[0].in, strings.Repeat("y", tc.waiting)...) // no event: the ack check finds it
		c[0].unacked = 0
		h.p.now += ackCheckMin
		h.tick()
		st := h.s.Stats()
		if !c[0].closed || st.Closed[tc.want] != 1 || c[0].aborted != tc.aborted {
			t.Fatalf("%d bytes waiting: closed %v, aborted %v, reasons %v; want %v (aborted %v)", tc.waiting, c[0].closed, c[0].aborted, st.Closed, tc.want, tc.aborted)
		}
		if tc.want != ReasonLingerBytes && len(c[0].in) != 0 {
			t.Fatalf("%d bytes waiting: closed for %v with %d bytes unread: the close resets the connection", tc.waiting, tc.want, len(c[0].in))
		}
	}
}
