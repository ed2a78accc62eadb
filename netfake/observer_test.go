package netfake_test

import (
	"slices"
	"syscall"
	"testing"

	"github.com/mobsim/mobsim/netfake"
)

// recorder is an Observer that keeps what it is told, per connection.
type recorder struct {
	accepted, closedWrite, closed, reset []uint64
	read, wrote                          map[uint64][]byte
}

func (r *recorder) Accepted(id uint64) { r.accepted = append(r.accepted, id) }
func (r *recorder) Read(id uint64, p []byte) {
	if r.read == nil {
		r.read = map[uint64][]byte{}
	}
	r.read[id] = append(r.read[id], p...)
}
func (r *recorder) Wrote(id uint64, p []byte) {
	if r.wrote == nil {
		r.wrote = map[uint64][]byte{}
	}
	r.wrote[id] = append(r.wrote[id], p...)
}
func (r *recorder) ClosedWrite(id uint64) { r.closedWrite = append(r.closedWrite, id) }
func (r *recorder) Closed(id uint64)      { r.closed = append(r.closed, id) }
func (r *recorder) Reset(id uint64)       { r.reset = append(r.reset, id) }

// TestObserverCalls checks what the oracle is told: accepted ids equal the
// clients' ids, read and written bytes are exact, CloseWrite and Close are
// reported, and Reset only for a real reset (not for EPIPE after the
// server's own CloseWrite), at most once.
func TestObserverCalls(t *testing.T) {
	k := newKernel(1, netfake.Config{})
	obs := &recorder{}
	k.SetObserver(obs)
	l, _ := k.Listen(4)
	c1, s1 := connectAccept(t, k, l)
	c2, s2 := connectAccept(t, k, l)
	if !slices.Equal(obs.accepted, []uint64{c1.ID(), c2.ID()}) || c1.ID() == c2.ID() {
		t.Fatalf("accepted %v, clients %d %d", obs.accepted, c1.ID(), c2.ID())
	}
	_, _ = c1.Write([]byte("ping"))
	k.Flush()
	_, _ = readAll(s1)
	_, _ = s1.Write([]byte("pong"))
	_ = s1.CloseWrite()
	if _, err := s1.Write([]byte("x")); !isErrno(err, syscall.EPIPE) {
		t.Fatalf("write after CloseWrite: %v", err)
	}
	_ = c2.Reset()
	k.Flush()
	_, _ = s2.Write([]byte("x"))
	_, _ = s2.Write([]byte("x"))
	_ = s1.Close()
	_ = s2.Close()
	switch {
	case string(obs.read[c1.ID()]) != "ping" || string(obs.wrote[c1.ID()]) != "pong":
		t.Fatalf("read %q, wrote %q", obs.read[c1.ID()], obs.wrote[c1.ID()])
	case !slices.Equal(obs.closedWrite, []uint64{c1.ID()}):
		t.Fatalf("closedWrite %v", obs.closedWrite)
	case !slices.Equal(obs.reset, []uint64{c2.ID()}):
		t.Fatalf("reset %v, want only %d", obs.reset, c2.ID())
	case !slices.Equal(obs.closed, []uint64{c1.ID(), c2.ID()}):
		t.Fatalf("closed %v", obs.closed)
	}
}
