//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package netpoll

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"testing"
)

// Goal: a connection logs as separate peer and fd keys, in text and JSON.
// Method: log one through both handlers, as the server does ("conn", st),
// and read the keys back.
func TestConnLogValueSeparatesPeerAndFD(t *testing.T) {
	c := newConn(11, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 34324})
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("accepted", "conn", c)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("accepted", "conn", c)
	if !strings.Contains(text.String(), "conn.peer=127.0.0.1:34324 conn.fd=11") {
		t.Errorf("text: %s", text.String())
	}
	var rec struct {
		Conn struct {
			Peer string
			FD   int
		}
	}
	if err := json.Unmarshal(js.Bytes(), &rec); err != nil || rec.Conn.Peer != "127.0.0.1:34324" || rec.Conn.FD != 11 {
		t.Errorf("json: %s (%v)", js.String(), err)
	}
}
