package e2e

import (
	"io"
	"net"
	"sync"
	"time"

	"github.com/mobsim/mobsim/server"
)

// This file holds clients that keep a rate, as users' clients do: a reader
// that takes at most so many bytes per second, and a sender that sends so
// many. Both pace by allowance (bytes per second since they started, minus
// what they moved), so a late wake-up on a loaded machine is made up by the
// next call instead of lowering the rate; only a machine too slow to move
// the bytes at all falls short.

// rateReader reads from c at most bytesPerSec on average and at most chunk
// bytes per call, and calls after (if not nil) after every read that got
// data.
type rateReader struct {
	c           net.Conn
	bytesPerSec int
	chunk       int
	after       func(n int)
	start       time.Time
	taken       int64
}

func newRateReader(c net.Conn, bytesPerSec, chunk int, after func(int)) *rateReader {
	return &rateReader{c: c, bytesPerSec: bytesPerSec, chunk: chunk, after: after, start: time.Now()}
}

func (r *rateReader) Read(p []byte) (int, error) {
	for {
		allowed := int64(time.Since(r.start).Seconds()*float64(r.bytesPerSec)) - r.taken
		if allowed >= int64(min(r.chunk, len(p))) || allowed >= int64(r.chunk) {
			break
		}
		need := int64(min(r.chunk, len(p))) - allowed
		time.Sleep(time.Duration(float64(need) / float64(r.bytesPerSec) * float64(time.Second)))
	}
	n, err := r.c.Read(p[:min(len(p), r.chunk)])
	r.taken += int64(n)
	if n > 0 && r.after != nil {
		r.after(n)
	}
	return n, err
}

// rateSender sends frames on c at bytesPerSec (encoded bytes) on average,
// one frame per write, until stop is closed, a write fails or frames run
// out. It counts what it wrote; err is the write error that ended it, if
// any.
type rateSender struct {
	wrote int // frames written
	err   error
	done  chan struct{}
}

func sendAtRate(c net.Conn, f server.Framing, frames [][]byte, bytesPerSec int, stop <-chan struct{}) *rateSender {
	s := &rateSender{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		start := time.Now()
		var sent int64
		for _, b := range frames {
			wire := f.Encode(nil, b)
			if ahead := time.Duration(float64(sent)/float64(bytesPerSec)*float64(time.Second)) - time.Since(start); ahead > 0 {
				select {
				case <-stop:
					return
				case <-time.After(ahead):
				}
			}
			select {
			case <-stop:
				return
			default:
			}
			if _, err := c.Write(wire); err != nil {
				s.err = err
				return
			}
			sent += int64(len(wire))
			s.wrote++
		}
	}()
	return s
}

// drain reads and discards everything c sends until the stream ends, and
// reports the error that ended it (io.EOF for a clean end).
func drain(c io.Reader) error {
	_, err := io.Copy(io.Discard, c)
	if err == nil {
		return io.EOF
	}
	return err
}

// stopOnce is a stop channel closed at most once, by whoever comes first.
type stopOnce struct {
	ch   chan struct{}
	once sync.Once
}

func newStop() *stopOnce { return &stopOnce{ch: make(chan struct{})} }

func (s *stopOnce) stop() { s.once.Do(func() { close(s.ch) }) }
