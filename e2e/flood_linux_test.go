package e2e

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mobsim/mobsim/server"
)

// Goal: a connect flood past -conns-max costs the connected clients
// nothing, and every extra client is told why in one line and closed.
// Method: the child server runs with -conns-max 4; four bystanders join
// and chat while 64 clients connect at once, each reading until the server
// closes it. Each must read exactly one line "error: server full (4
// connections)" and then the end of stream; the server must count 64
// conns-limit closes and still 4 members; the bystanders must receive every
// frame.
func TestConnectFlood(t *testing.T) {
	const connsMax, flood = 4, 64
	f := server.FramingLine
	seed := testSeed(t)
	p := startMob(t, false, "-conns-max", fmt.Sprint(connsMax))
	bystanders := dialMembers(t, p, connsMax, connsMax)
	g := startChat(t, f, seed, bystanders, 200, 200, time.Millisecond, nil)

	msgs := make([]string, flood)
	var wg sync.WaitGroup
	for i := range flood {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dialErr(p.addr, sockOpts{})
			if err != nil {
				t.Errorf("flood client %d: dial: %v", i, err)
				return
			}
			defer c.Close()
			msgs[i] = readError(t, fmt.Sprint("flood client ", i), c, f, nil, nil)
		}()
	}
	wg.Wait()
	order := g.wait()

	want := fmt.Sprintf("error: server full (%d connections)", connsMax)
	for i, m := range msgs {
		if m != want && m != "" { // "" was reported by readError
			t.Errorf("flood client %d got %q, want %q", i, m, want)
		}
	}
	v := p.vars()
	t.Logf("flood client 0 got %q; server: accepted %d, closed %v, members %d", msgs[0], v.Accepted, v.Closed, v.Members)
	if v.Closed["conns-limit"] != flood || v.ClosedTotal != flood || v.Accepted != connsMax+flood {
		t.Errorf("server accepted %d and closed %v; want %d accepted, %d closed for conns-limit",
			v.Accepted, v.Closed, connsMax+flood, flood)
	}
	if v.Members != connsMax {
		t.Errorf("members = %d, want %d", v.Members, connsMax)
	}
	if n := p.Log().Count(regexp.MustCompile(`msg="rejected: connection limit"`)); n != flood {
		t.Errorf("server logged %d rejections, want %d", n, flood)
	}
	if len(order) != connsMax*200 {
		t.Errorf("bystanders' order holds %d frames, want %d", len(order), connsMax*200)
	}
}

// Goal: a client turned away at -conns-max that has already sent data
// still learns why. Method: with -conns-max 1 and one member, the child
// server is stopped (SIGSTOP) while 16 clients connect (the kernel
// completes the handshakes) and send a line, so the line is waiting when
// the server, continued (SIGCONT), accepts and turns them away. Each client
// then reads until the server closes it. The server reads nothing from a
// client it turns away; closing a socket with unread input makes the kernel
// send an RST, which discards what the client has not read yet. The test
// reports how many got the error line and how many a reset instead.
func TestConnectFloodTalking(t *testing.T) {
	const flood = 16
	f := server.FramingLine
	p := startMob(t, false, "-conns-max", "1")
	member := dialMembers(t, p, 1, 1)[0]

	if err := p.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	conts := sync.OnceFunc(func() {
		if err := p.Signal(syscall.SIGCONT); err != nil {
			t.Error(err)
		}
	})
	defer conts()
	conns := make([]*net.TCPConn, flood)
	for i := range conns {
		conns[i] = dial(t, p.addr, sockOpts{})
		if _, err := conns[i].Write([]byte("hello, let me in\n")); err != nil {
			t.Fatal(err)
		}
	}
	conts()

	type outcome struct {
		msg string
		err error
	}
	out := make([]outcome, flood)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := newFrameReader(c, f, 1<<16).Next()
			out[i] = outcome{string(b), err}
		}()
	}
	wg.Wait()
	told, reset := 0, 0
	for i, o := range out {
		switch {
		case o.err == nil && strings.HasPrefix(o.msg, "error: server full"):
			told++
		case errors.Is(o.err, syscall.ECONNRESET):
			reset++
		default:
			t.Errorf("talking flood client %d: got %q, %v; want the error line or a reset", i, o.msg, o.err)
		}
	}
	v := p.vars()
	t.Logf("%d of %d clients that sent before being turned away read the error line, %d were reset instead; server closed %v",
		told, flood, reset, v.Closed)
	if v.Closed["conns-limit"] != flood || v.Members != 1 {
		t.Errorf("server closed %v with %d members; want %d conns-limit closes and the member kept", v.Closed, v.Members, flood)
	}
	// The member is unaffected: it still chats.
	if _, err := member.Write([]byte("still here\n")); err != nil {
		t.Fatal(err)
	}
	expectFrames(t, "member's frame", []*frameReader{newFrameReader(member, f, 1<<16)}, []byte("still here"))
}
