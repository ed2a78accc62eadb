package netfake_test

import (
	"errors"
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
)

// newKernel returns a kernel seeded with seed, failing the test on nothing:
// construction cannot fail.
func newKernel(seed uint64, cfg netfake.Config) *netfake.Kernel {
	return netfake.New(rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), cfg)
}

// pair listens, connects one client and accepts it.
func pair(t *testing.T, k *netfake.Kernel) (*netfake.Listener, *netfake.Client, *netfake.Socket) {
	t.Helper()
	l, err := k.Listen(16)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	c, s := connectAccept(t, k, l)
	return l, c, s
}

func connectAccept(t *testing.T, k *netfake.Kernel, l *netfake.Listener) (*netfake.Client, *netfake.Socket) {
	t.Helper()
	c, err := k.Connect(l)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	st, err := l.Accept()
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	return c, st.(*netfake.Socket)
}

// poll returns one batch (up to 64 events) with timeout 0.
func poll(t *testing.T, k *netfake.Kernel) []kernel.Event {
	t.Helper()
	events := make([]kernel.Event, 64)
	n, err := k.Poll(events, 0)
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	return events[:n]
}

// merged ORs the readiness of every event for tok in evs, and reports
// whether there was one.
func merged(evs []kernel.Event, tok kernel.Token) (kernel.Ready, bool) {
	var r kernel.Ready
	found := false
	for _, e := range evs {
		if e.Token == tok {
			r |= e.Ready
			found = true
		}
	}
	return r, found
}

// readAll reads from s until it stops returning bytes, and returns the
// bytes and the error that stopped it.
func readAll(s interface{ Read([]byte) (int, error) }) ([]byte, error) {
	var out []byte
	buf := make([]byte, 7)
	for {
		n, err := s.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out, err
		}
	}
}

func isErrno(err error, e syscall.Errno) bool { return errors.Is(err, e) }
