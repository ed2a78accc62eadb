package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mobsim/mobsim/server"
)

// The child reports to the parent over a pipe, in records of a kind byte
// and a fixed layout each. serial names a server connection: the child
// numbers streams from 1 as it first hears of them.
const (
	evListening = 'A' // addr string: the server listens
	evJoined    = 'J' // serial, addr: became a member
	evRefused   = 'X' // serial, reason, addr: closed without joining (conns-limit, register-error)
	evLeft      = 'L' // serial, reason: stopped receiving new frames
	evClosed    = 'C' // serial, reason: closed
	evFrame     = 'F' // serial, key, body size: entered the global order
	evStats     = 'S' // JSON of server.Stats: the server stopped
)

// childConfig is what the parent tells the child, from the options.
func childConfig(o options) serveConfig {
	return serveConfig{
		FrameBytesMax:   o.frameBytesMax,
		QueueBytesMax:   o.queueBytesMax,
		SendBufBytes:    o.sendBufBytes,
		ConnsMax:        min(4*o.clients+1000, 1<<24), // far above what the clients open
		IdleTimeout:     o.idleTimeout,
		LingerTimeout:   o.lingerTimeout,
		ShutdownTimeout: 10 * time.Second,
		Bug:             o.bug,
		Record:          o.record,
		NoIOUring:       !o.ioURing,
	}
}

// server is the configuration the child's server runs with, Logger and
// Observer aside: the parent's oracle checks the same.
func (sc serveConfig) server() server.Config {
	cfg := server.DefaultConfig()
	cfg.Framing = server.FramingMob
	cfg.FrameBytesMax = sc.FrameBytesMax
	cfg.QueueBytesMax = sc.QueueBytesMax
	cfg.ConnsMax = sc.ConnsMax
	cfg.IdleTimeout = sc.IdleTimeout
	cfg.LingerTimeout = sc.LingerTimeout
	cfg.ShutdownTimeout = sc.ShutdownTimeout
	return cfg
}

// event is one decoded record.
type event struct {
	kind   byte
	serial uint32
	reason server.CloseReason
	addr   string
	key    uint64
	size   uint32
	stats  server.Stats
}

// eventWriter encodes records into a buffered writer.
type eventWriter struct {
	w   *bufio.Writer
	buf [32]byte
}

func (e *eventWriter) listening(addr string) { e.record(evListening, 0, 0, addr) }

func (e *eventWriter) joined(serial uint32, addr string) { e.record(evJoined, serial, 0, addr) }

func (e *eventWriter) refused(serial uint32, r server.CloseReason, addr string) {
	e.record(evRefused, serial, r, addr)
}

func (e *eventWriter) left(serial uint32, r server.CloseReason) { e.record(evLeft, serial, r, "") }

func (e *eventWriter) closed(serial uint32, r server.CloseReason) { e.record(evClosed, serial, r, "") }

func (e *eventWriter) frame(serial uint32, key uint64, size uint32) {
	b := append(e.buf[:0], evFrame)
	b = binary.BigEndian.AppendUint32(b, serial)
	b = binary.BigEndian.AppendUint64(b, key)
	b = binary.BigEndian.AppendUint32(b, size)
	e.w.Write(b)
}

// record writes kind, serial, reason and a length-prefixed string.
func (e *eventWriter) record(kind byte, serial uint32, r server.CloseReason, s string) {
	b := append(e.buf[:0], kind)
	b = binary.BigEndian.AppendUint32(b, serial)
	b = append(b, byte(r), byte(len(s)))
	e.w.Write(b)
	e.w.WriteString(s[:min(len(s), 255)])
}

func (e *eventWriter) stats(st server.Stats) error {
	js, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	b := binary.BigEndian.AppendUint32(append(e.buf[:0], evStats), uint32(len(js)))
	e.w.Write(b)
	e.w.Write(js)
	return nil
}

// readEvent decodes the next record. It returns io.EOF at a clean end.
func readEvent(r *bufio.Reader) (event, error) {
	var ev event
	kind, err := r.ReadByte()
	if err != nil {
		return ev, err
	}
	ev.kind = kind
	var b [16]byte
	full := func(p []byte) error {
		if _, err := io.ReadFull(r, p); err != nil {
			return fmt.Errorf("event %q: %w", kind, noEOF(err))
		}
		return nil
	}
	switch kind {
	case evFrame:
		if err := full(b[:16]); err != nil {
			return ev, err
		}
		ev.serial = binary.BigEndian.Uint32(b[0:])
		ev.key = binary.BigEndian.Uint64(b[4:])
		ev.size = binary.BigEndian.Uint32(b[12:])
	case evListening, evJoined, evRefused, evLeft, evClosed:
		if err := full(b[:6]); err != nil {
			return ev, err
		}
		ev.serial = binary.BigEndian.Uint32(b[0:])
		ev.reason = server.CloseReason(b[4])
		s := make([]byte, b[5])
		if err := full(s); err != nil {
			return ev, err
		}
		ev.addr = string(s)
	case evStats:
		if err := full(b[:4]); err != nil {
			return ev, err
		}
		js := make([]byte, binary.BigEndian.Uint32(b[:]))
		if err := full(js); err != nil {
			return ev, err
		}
		if err := json.Unmarshal(js, &ev.stats); err != nil {
			return ev, fmt.Errorf("event stats: %w", err)
		}
	default:
		return ev, fmt.Errorf("unknown event kind %#x", kind)
	}
	return ev, nil
}

// noEOF turns an EOF inside a record into ErrUnexpectedEOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
