//go:build darwin || openbsd

package netpoll_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netpoll"
)

// Writev on darwin and OpenBSD goes through x/sys/unix's Writev in pieces of
// 8 buffers (more would make it allocate): 12 buffers must arrive whole and
// in order, and a call must not allocate.
func TestWritevLibcSplitsWithoutAllocating(t *testing.T) {
	l, err := netpoll.Listen("tcp4", "127.0.0.1:0", netpoll.ListenConfig{})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer l.Close()
	peer, err := netpoll.DialTimeout("tcp4", l.Addr().String(), contractDialTimeout)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer peer.Close()
	var srv kernel.Stream
	for deadline := time.Now().Add(contractDialTimeout); srv == nil; {
		if srv, err = l.Accept(); err != nil && (!errors.Is(err, kernel.ErrWouldBlock) || time.Now().After(deadline)) {
			t.Fatalf("Accept: %v", err)
		}
		time.Sleep(contractSettle)
	}
	defer srv.Close()

	const want = "abcdefghijkl"
	bufs := make([][]byte, len(want))
	for i := range bufs {
		bufs[i] = []byte{want[i]}
	}
	w := srv.(kernel.VectorWriter)
	var failed error
	allocs := testing.AllocsPerRun(20, func() {
		if n, err := w.Writev(bufs); (err != nil || n != len(want)) && failed == nil {
			failed = fmt.Errorf("Writev(%d one-byte buffers) = %d, %v", len(bufs), n, err)
		}
	})
	if failed != nil {
		t.Fatal(failed)
	}
	if allocs != 0 {
		t.Fatalf("Writev allocates %v times per call, want 0", allocs)
	}
	var got []byte
	buf := make([]byte, 1024)
	for deadline := time.Now().Add(contractDialTimeout); len(got) < 21*len(want); {
		n, err := peer.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil && !errors.Is(err, kernel.ErrWouldBlock) || time.Now().After(deadline) {
			t.Fatalf("peer Read after %d bytes: %v", len(got), err)
		}
		time.Sleep(contractSettle)
	}
	for i := 0; i < len(got); i += len(want) {
		if string(got[i:i+len(want)]) != want {
			t.Fatalf("peer read %q at %d, want %q (AllocsPerRun writes 21 times)", got[i:i+len(want)], i, want)
		}
	}
}
