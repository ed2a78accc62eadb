package oracle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A violation's Detail says in a sentence what a user lost or would see;
// its Facts are the numbers behind the sentence, from the history: what
// the connection's client sent and received, what the server read from it
// and wrote to it, what it still owed, how the connection ended. They are
// structured so that a tool can select on them (-json) and the simulator
// prints them under the sentence.

// Fact is one fact behind a violation.
type Fact struct {
	// Key says what it is, in snake_case with its unit where it has one:
	// "unread_bytes", "frames_broadcast", "silent_for".
	Key string
	// Value is an integer, a bool, a string or a time.Duration.
	Value any
}

func (f Fact) String() string {
	return strings.ReplaceAll(f.Key, "_", " ") + ": " + formatValue(f.Value)
}

func formatValue(v any) string {
	switch v := v.(type) {
	case time.Duration:
		return v.String()
	case string:
		return v
	}
	return fmt.Sprint(v)
}

// Facts are a violation's facts, in the order they tell the story. In
// JSON they are one object, keys in that order; durations are Go duration
// strings ("1.5s"), like the world's.
type Facts []Fact

// MarshalJSON writes the facts as one object, in order.
func (fs Facts) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, f.Key)
		b = append(b, ':')
		v := f.Value
		if d, ok := v.(time.Duration); ok {
			v = d.String()
		}
		enc, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("fact %s: %w", f.Key, err)
		}
		b = append(b, enc...)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads an object written by MarshalJSON, keeping its order.
// Integers come back as int64 (uint64 past its range), durations as their
// strings.
func (fs *Facts) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("facts: want an object")
	}
	*fs = (*fs)[:0]
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("facts: %w", err)
		}
		key, _ := t.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("facts: %s: %w", key, err)
		}
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				v = i
			} else if u, err := strconv.ParseUint(n.String(), 10, 64); err == nil {
				v = u
			} else {
				v = n.String()
			}
		}
		*fs = append(*fs, Fact{Key: key, Value: v})
	}
	return nil
}

// fact stages a fact for the next violation: the check that finds one
// states the facts particular to it just before it fails, and failConn
// adds the connection's own.
func (o *Oracle) fact(key string, value any) { o.staged = append(o.staged, Fact{key, value}) }

// takeFacts returns the staged facts and the connection's, and clears the
// stage.
func (o *Oracle) takeFacts(c *conn) Facts {
	fs := append(Facts(nil), o.staged...)
	o.staged = o.staged[:0]
	if c == nil {
		return fs
	}
	has := func(k string) bool {
		for _, f := range fs {
			if f.Key == k {
				return true
			}
		}
		return false
	}
	add := func(k string, v any) {
		if !has(k) {
			fs = append(fs, Fact{k, v})
		}
	}
	if c.client {
		add("client_sent_bytes", c.sent)
	}
	if o.kernel && c.accepted {
		add("server_read_bytes", c.readBytes)
		if c.client && c.sent > c.readBytes {
			add("unread_bytes", c.sent-c.readBytes)
		}
		add("server_read_eof", c.eofAt >= 0)
	}
	if c.joined {
		add("frames_broadcast", c.frames)
		add("owed_bytes", c.windowEnd(o)-c.join)
		if o.kernel {
			add("written_bytes", c.written)
		}
	}
	if c.client {
		add("received_bytes", c.recv)
	}
	if c.left {
		add("left_for", c.leaveWhy.String())
	}
	if c.closed {
		add("closed_for", c.closeWhy.String())
	}
	if c.reset {
		add("reset_seen", true)
	}
	return fs
}

// labelOr is c's label, or "conn id" for a connection the history never
// mentioned.
func (c *conn) labelOr(id ConnID) string {
	if c == nil {
		return "conn " + strconv.FormatUint(id, 10)
	}
	return c.label()
}

// label names c as its client's world does ("conn 3 (client 2, chatty)"),
// or by its id.
func (c *conn) label() string {
	if c == nil {
		return "a connection"
	}
	if c.name != "" {
		return c.name
	}
	return "conn " + strconv.FormatUint(c.id, 10)
}
