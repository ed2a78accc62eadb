package server

import (
	"fmt"
	"testing"

	"github.com/mobsim/mobsim/kernel"
)

// harness wires a Server to the scripted mock kernel.
type harness struct {
	t  *testing.T
	p  *mockPoller
	ln *mockListener
	s  *Server
	n  int
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, p: &mockPoller{}, ln: &mockListener{}}
	s, err := New(h.p, h.ln, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	return h
}

// connect queues n connections, signals the listener and ticks once.
func (h *harness) connect(n int) []*mockStream {
	h.t.Helper()
	ms := make([]*mockStream, n)
	for i := range ms {
		h.n++
		ms[i] = &mockStream{name: fmt.Sprintf("c%d", h.n), outCap: -1}
		h.ln.pending = append(h.ln.pending, ms[i])
	}
	h.p.ready = append(h.p.ready, kernel.Event{Token: listenerToken, Ready: kernel.ReadyRead})
	h.tick()
	return ms
}

// token returns the token the server registered m under, or fails.
func (h *harness) token(m *mockStream) kernel.Token {
	h.t.Helper()
	for _, c := range h.s.tab.conns {
		if c != nil && c.stream == kernel.Stream(m) {
			return c.tok
		}
	}
	h.t.Fatalf("%s is not in the table", m.name)
	return 0
}

func (h *harness) tick(evs ...kernel.Event) {
	h.t.Helper()
	h.p.ready = append(h.p.ready, evs...)
	if err := h.s.Tick(); err != nil {
		h.t.Fatal(err)
	}
	if err := h.s.check(); err != nil {
		h.t.Fatal(err)
	}
}

// send puts data in m's receive buffer and delivers one readable event.
func (h *harness) send(m *mockStream, data string) {
	h.t.Helper()
	m.in = append(m.in, data...)
	h.tick(kernel.Event{Token: h.token(m), Ready: kernel.ReadyRead})
}
