package main

import (
	"fmt"
	"io"
	"log/slog"
)

// logFormat is the -log-format flag: how records are written to stderr.
type logFormat string

const (
	logText logFormat = "text" // slog's key=value lines, for people
	logJSON logFormat = "json" // one JSON object per line, for collectors
)

func (f *logFormat) String() string {
	if f == nil {
		return ""
	}
	return string(*f)
}

func (f *logFormat) Set(s string) error {
	switch logFormat(s) {
	case logText, logJSON:
		*f = logFormat(s)
		return nil
	}
	return fmt.Errorf("unknown log format %q: use text or json", s)
}

// newLogger writes records of level and above to w in format.
func newLogger(w io.Writer, format logFormat, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == logJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
