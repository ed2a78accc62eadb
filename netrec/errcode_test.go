package netrec_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"syscall"
	"testing"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netrec"
)

// isTargets are the errors.Is checks the server and the kernels make.
var isTargets = []error{
	kernel.ErrWouldBlock, kernel.ErrInterrupted, io.EOF,
	syscall.ECONNRESET, syscall.EPIPE, syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED,
	syscall.ENOBUFS, syscall.ENOTCONN, syscall.EINTR, syscall.EPROTO, syscall.EPERM, syscall.ENOMEM,
	syscall.ELOOP,
}

// recordErrors records one Read, Write and Close per error on a scripted
// kernel, with the given build in the header, and returns the recording.
func recordErrors(t *testing.T, errs []error, b netrec.Build) []byte {
	t.Helper()
	k := &scriptKernel{}
	for _, err := range errs {
		k.streams = append(k.streams, &scriptStream{readErr: err, writeErr: err, closeErr: err})
	}
	var buf bytes.Buffer
	rec, err := netrec.NewRecorder(&buf, k, netrec.Options{Build: &b})
	if err != nil {
		t.Fatal(err)
	}
	ln := rec.Listener(k)
	p := make([]byte, 16)
	for range errs {
		st, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		st.Read(p)
		st.Write(p)
		st.Close()
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// replayErrors replays what recordErrors recorded and returns the errors
// the replay hands back, three per recorded error.
func replayErrors(t *testing.T, data []byte, n int) []error {
	t.Helper()
	rp, ln := openReplay(t, data, netrec.ReplayOptions{})
	p := make([]byte, 16)
	var got []error
	for range n {
		st, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		_, rerr := st.Read(p)
		_, werr := st.Write(p)
		got = append(got, rerr, werr, st.Close())
	}
	if rp.Err() != nil {
		t.Fatal(rp.Err())
	}
	return got
}

// A replayed error passes exactly the errors.Is checks the live one passed,
// and says what it said: bare sentinels and errnos, wrapped ones with
// context, errnos outside the named table, and errors known only by text.
func TestErrorsReplayAsRecorded(t *testing.T) {
	errs := []error{
		nil, kernel.ErrWouldBlock, kernel.ErrInterrupted, io.EOF,
		syscall.ECONNRESET, syscall.EPIPE, syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED,
		syscall.ENOBUFS, syscall.ENOTCONN,
		fmt.Errorf("netpoll: read peer=127.0.0.1:1 fd=7: %w", syscall.ECONNRESET),
		fmt.Errorf("netfake: write: %w", syscall.EPIPE),
		fmt.Errorf("accept: %w", syscall.EMFILE),
		fmt.Errorf("wrapped twice: %w", fmt.Errorf("poll: %w", kernel.ErrInterrupted)),
		fmt.Errorf("netpoll: %w", syscall.ELOOP), // an errno outside the table
		errors.New("something only its text says"),
	}
	data := recordErrors(t, errs, netrec.CurrentBuild())
	got := replayErrors(t, data, len(errs))
	for i, want := range errs {
		for j, g := range got[3*i : 3*i+3] {
			call := [...]string{"read", "write", "close"}[j]
			if (want == nil) != (g == nil) {
				t.Errorf("%v: %s replayed %v", want, call, g)
				continue
			}
			if want == nil {
				continue
			}
			if g.Error() != want.Error() {
				t.Errorf("%s: text %q, recorded %q", call, g.Error(), want.Error())
			}
			for _, target := range isTargets {
				if errors.Is(g, target) != errors.Is(want, target) {
					t.Errorf("%q (%s): errors.Is(_, %v) is %v after replay, %v live", want, call, target, errors.Is(g, target), errors.Is(want, target))
				}
			}
		}
	}
}

// A named errno replays by name on another OS; an unnamed one only by its
// text there, since its number means something else.
func TestErrnoAcrossOS(t *testing.T) {
	b := netrec.CurrentBuild()
	b.GOOS = "plan9"
	if runtime.GOOS == b.GOOS {
		t.Skip("running on the foreign OS")
	}
	var errs []error
	for _, target := range isTargets {
		if en, ok := target.(syscall.Errno); ok && en != syscall.ELOOP {
			errs = append(errs, fmt.Errorf("x: %w", en))
		}
	}
	unnamed := fmt.Errorf("y: %w", syscall.ELOOP)
	errs = append(errs, unnamed)
	got := replayErrors(t, recordErrors(t, errs, b), len(errs))
	for i, want := range errs[:len(errs)-1] {
		if en := errors.Unwrap(want); !errors.Is(got[3*i], en) {
			t.Errorf("named errno from another OS: %v does not match %v", got[3*i], en)
		}
	}
	last := got[3*(len(errs)-1)]
	if errors.Is(last, syscall.ELOOP) || last.Error() != unnamed.Error() {
		t.Errorf("unnamed errno from another OS: %v (is ELOOP: %v)", last, errors.Is(last, syscall.ELOOP))
	}
}
