package server

import "log/slog"

// The server's enumerations log by name in every slog handler: the text
// handler would call String, but the JSON handler encodes the number.

// LogValue is the reason's name ("eof", "queue-limit").
func (r CloseReason) LogValue() slog.Value { return slog.StringValue(r.String()) }

// LogValue is the framing's name ("line", "mob").
func (f Framing) LogValue() slog.Value { return slog.StringValue(f.String()) }
