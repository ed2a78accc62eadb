package netrec

import "github.com/mobsim/mobsim/kernel"

// Noter takes annotations: a *Recorder writes them, a *Replayer matches
// them (ReplayOptions.MatchNotes).
type Noter interface {
	Note(kind NoteKind, st kernel.Stream, arg uint64)
}

var (
	_ Noter = (*Recorder)(nil)
	_ Noter = (*Replayer)(nil)
)

// ServerObserver is the method set of server.Observer with its close reason
// type as a parameter, so this package need not import the server.
type ServerObserver[R ~uint8] interface {
	Joined(kernel.Stream)
	Left(kernel.Stream, R)
	Closed(kernel.Stream, R)
	Frame(from kernel.Stream, head, tail []byte)
}

// Observer turns the server's membership claims into notes, then passes
// them on to Then (if set). It is a server.Observer when R is
// server.CloseReason:
//
//	cfg.Observer = netrec.Observer[server.CloseReason]{N: rec, Then: cfg.Observer}
//
// A Frame note carries the frame's length, not its bytes: the bytes are in
// the reads already, and an oracle cuts frames from those. SkipFrames
// leaves Frame claims out of the notes (they are still passed on): one a
// frame read is the largest share of the notes, and what they say follows
// from the reads, so a replayed core that frames differently shows in its
// writes. A recording and its replay must agree on it.
type Observer[R ~uint8] struct {
	N          Noter
	Then       ServerObserver[R]
	SkipFrames bool
}

func (o Observer[R]) Joined(st kernel.Stream) {
	o.N.Note(NoteJoined, st, 0)
	if o.Then != nil {
		o.Then.Joined(st)
	}
}

func (o Observer[R]) Left(st kernel.Stream, r R) {
	o.N.Note(NoteLeft, st, uint64(r))
	if o.Then != nil {
		o.Then.Left(st, r)
	}
}

func (o Observer[R]) Closed(st kernel.Stream, r R) {
	o.N.Note(NoteClosed, st, uint64(r))
	if o.Then != nil {
		o.Then.Closed(st, r)
	}
}

func (o Observer[R]) Frame(st kernel.Stream, head, tail []byte) {
	if !o.SkipFrames {
		o.N.Note(NoteFrame, st, uint64(len(head)+len(tail)))
	}
	if o.Then != nil {
		o.Then.Frame(st, head, tail)
	}
}
