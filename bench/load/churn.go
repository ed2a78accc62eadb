package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mobsim/mobsim/server"
)

// ChurnConfig describes the churn scenario: workers that each, in a loop,
// connect, send one frame, wait for its echo, half-close, read to EOF and
// close — a full graceful connection life per cycle.
type ChurnConfig struct {
	Addr       string
	Framing    server.Framing
	Workers    int
	FrameBytes int
	Sources    int
	Duration   time.Duration
}

// ChurnResult counts completed cycles.
type ChurnResult struct {
	Elapsed    time.Duration
	Cycles     uint64
	Cycle      Hist // time per cycle
	Errors     uint64
	FirstError error
}

// Churn runs the scenario for cfg.Duration.
func Churn(ctx context.Context, cfg ChurnConfig) (ChurnResult, error) {
	if err := checkFrameBytes(cfg.FrameBytes); err != nil {
		return ChurnResult{}, err
	}
	d, err := newDialer(cfg.Addr, cfg.Sources)
	if err != nil {
		return ChurnResult{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		res    ChurnResult
		cycles atomic.Uint64
	)
	base := time.Now()
	for w := range cfg.Workers {
		wg.Go(func() {
			var h Hist
			var errs uint64
			var first error
			buf := make([]byte, 64<<10)
			for seq := uint32(0); ctx.Err() == nil; seq++ {
				t := time.Now()
				err := churnCycle(d, cfg, buf, int64(t.Sub(base)), uint32(w), seq)
				if ctx.Err() != nil && err != nil {
					break // cut short by the end of the run, not a failure
				}
				if err != nil {
					errs++
					if first == nil {
						first = err
					}
					continue
				}
				cycles.Add(1)
				h.Record(int64(time.Since(t)))
			}
			mu.Lock()
			res.Cycle.Merge(&h)
			res.Errors += errs
			if res.FirstError == nil {
				res.FirstError = first
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(base)
	res.Cycles = cycles.Load()
	return res, nil
}

func churnCycle(d *dialer, cfg ChurnConfig, buf []byte, sendNs int64, id, seq uint32) error {
	c, err := d.dial()
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	if _, err := c.Write(appendFrame(nil, cfg.Framing, cfg.FrameBytes, sendNs, id, seq)); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	held := 0
	for echoed := false; !echoed; {
		n, err := c.Read(buf[held:])
		held += n
		off := 0
		for off < held && !echoed {
			k, serr := cfg.Framing.Scan(buf[off:held], frameBytesMax)
			if serr != nil || k == 0 {
				if serr != nil {
					return fmt.Errorf("scan: %w", serr)
				}
				break
			}
			_, fid, fseq, ok := parseFrame(cfg.Framing, buf[off:off+k])
			echoed = ok && fid == id && fseq == seq
			off += k
		}
		held = copy(buf, buf[off:held])
		if err != nil && !echoed {
			return fmt.Errorf("read before echo: %w", err)
		}
	}
	if err := c.CloseWrite(); err != nil {
		return fmt.Errorf("close write: %w", err)
	}
	for {
		_, err := c.Read(buf)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read to EOF: %w", err)
		}
	}
}

// Idle opens n connections that send nothing. The caller measures, then
// calls the returned function to close them all.
func Idle(ctx context.Context, addr string, n, sources int) (closeAllConns func(), err error) {
	d, err := newDialer(addr, sources)
	if err != nil {
		return nil, err
	}
	conns, err := d.dialMany(ctx, n, 64)
	if err != nil {
		return nil, err
	}
	return func() { closeAll(conns) }, nil
}
