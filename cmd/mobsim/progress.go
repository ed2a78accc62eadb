package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// How often the progress line is written: redrawn in place on a terminal,
// a new line elsewhere (a CI log or a file would otherwise fill with
// carriage returns, or hold one line per quarter second).
const (
	progressTTYEvery  = 250 * time.Millisecond
	progressLineEvery = 10 * time.Second
)

// progressLine says how far a sweep is and when it will end.
func progressLine(done, total, events, failed uint64, el time.Duration) string {
	s := max(el.Seconds(), 1e-9)
	rate := float64(done) / s
	eta := "?"
	if done > 0 && done <= total {
		eta = (time.Duration(float64(total-done) / rate * float64(time.Second))).Round(time.Second).String()
	}
	return fmt.Sprintf("%d/%d seeds  %.0f seeds/s  %.3g events/s  %d failed  ETA %s",
		done, total, rate, float64(events)/s, failed, eta)
}

// isTerminal reports whether w is a character device (a terminal, or
// /dev/null, where what is written does not matter).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressWriter writes progress lines: on a terminal it redraws one line
// with a carriage return (and clears its tail); elsewhere it writes whole
// lines, less often.
type progressWriter struct {
	w     io.Writer
	tty   bool
	every time.Duration // between two updates
}

func newProgressWriter(w io.Writer) progressWriter {
	if isTerminal(w) {
		return progressWriter{w: w, tty: true, every: progressTTYEvery}
	}
	return progressWriter{w: w, every: progressLineEvery}
}

// update writes an intermediate line.
func (p progressWriter) update(line string) {
	if p.tty {
		fmt.Fprint(p.w, "\r", line, "\x1b[K")
		return
	}
	fmt.Fprintln(p.w, line)
}

// final writes the last line, ending the redrawn one on a terminal.
func (p progressWriter) final(line string) {
	if p.tty {
		fmt.Fprint(p.w, "\r", line, "\x1b[K\n")
		return
	}
	fmt.Fprintln(p.w, line)
}
