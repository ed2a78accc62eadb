package server

import (
	"testing"

	"github.com/mobsim/mobsim/kernel"
)

// A read that returns fewer bytes than asked drains the stream (the seam
// promises an edge for the next arrival): one read per readable event,
// where draining to would-block took two.
func TestShortReadEndsTheDrain(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.connect(2)
	before := h.s.Stats().ReadCalls
	h.send(c[0], "hello\n")
	if got := h.s.Stats().ReadCalls - before; got != 1 {
		t.Fatalf("%d reads for one short read's worth; want 1", got)
	}
	if string(c[1].out) != "hello\n" {
		t.Fatalf("member got %q", c[1].out)
	}
}

// A read that fills its buffer (or the budget's cut of it) says nothing:
// reading goes on to a short read.
func TestFullReadReadsOn(t *testing.T) {
	h := newHarness(t, Config{ReadBufferBytes: 4})
	c := h.connect(2)
	before := h.s.Stats().ReadCalls
	h.send(c[0], "abcdefgh\n") // 4 + 4 + 1
	if got := h.s.Stats().ReadCalls - before; got != 3 {
		t.Fatalf("%d reads for 9 bytes through a 4-byte buffer; want 3 (the last one short)", got)
	}
	if string(c[1].out) != "abcdefgh\n" {
		t.Fatalf("member got %q", c[1].out)
	}
}

// A FIN that came with the bytes is pending after the short read, with no
// edge to come; the event's read-closed hint tells the server to read on,
// so the peer's frames are broadcast and it leaves in the same tick.
// Without the hint (a kernel that broke the contract) the server stops at
// the short read, and the FIN waits for the next event.
func TestHintReadsPastShortRead(t *testing.T) {
	for _, hinted := range []bool{true, false} {
		h := newHarness(t, Config{})
		c := h.connect(2)
		c[0].in, c[0].inEOF = []byte("bye\n"), true
		ready := kernel.ReadyRead
		if hinted {
			ready |= kernel.ReadyReadClosed
		}
		h.tick(kernel.Event{Token: h.token(c[0]), Ready: ready})
		if string(c[1].out) != "bye\n" {
			t.Fatalf("hinted %v: member got %q", hinted, c[1].out)
		}
		left := h.s.Stats().Members == 1
		if left != hinted {
			t.Fatalf("hinted %v: the peer left in the tick: %v", hinted, left)
		}
		if !hinted {
			h.tick(kernel.Event{Token: h.token(c[0]), Ready: kernel.ReadyRead | kernel.ReadyReadClosed})
			if h.s.Stats().Members != 1 {
				t.Fatal("the FIN's own event did not make the peer leave")
			}
		}
	}
}

// A hint is remembered across ticks: a read budget cuts the read, the
// server resumes on the next tick without an event, and the hint from the
// first tick still carries it past the short read to the FIN.
func TestHintRemembered(t *testing.T) {
	h := newHarness(t, Config{ReadBytesPerTickMax: 4})
	c := h.connect(2)
	c[0].in, c[0].inEOF = []byte("abcdef\n"), true
	h.tick(kernel.Event{Token: h.token(c[0]), Ready: kernel.ReadyRead | kernel.ReadyReadClosed})
	if h.s.Stats().Members != 2 {
		t.Fatal("left before reading everything")
	}
	h.tick() // no event: remembered work
	if string(c[1].out) != "abcdef\n" || h.s.Stats().Members != 1 {
		t.Fatalf("member got %q, %d members; want the frame and the peer gone", c[1].out, h.s.Stats().Members)
	}
}
