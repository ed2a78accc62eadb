package child

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// childEnv makes the test binary a child: its value names what to do.
const childEnv = "CHILD_TEST_MODE"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "serve": // log, serve until SIGTERM, log again, exit 0
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		fmt.Fprintln(os.Stderr, "msg=listening addr=127.0.0.1:4242")
		fmt.Fprintln(os.Stderr, "msg=accepted n=1")
		fmt.Fprintln(os.Stderr, "msg=accepted n=2")
		<-term
		fmt.Fprintln(os.Stderr, "msg=stopped")
		os.Exit(0)
	case "say": // log one line and exit 0
		fmt.Fprintln(os.Stderr, "msg=said")
		os.Exit(0)
	case "hang": // ignore SIGTERM
		signal.Ignore(syscall.SIGTERM)
		fmt.Fprintln(os.Stderr, "msg=hanging")
		time.Sleep(time.Minute)
		os.Exit(3)
	}
}

func start(t *testing.T, mode string, stderr *bytes.Buffer) *Proc {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	if stderr != nil {
		cmd.Stderr = stderr
	}
	p, err := Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p
}

// The log is kept line by line: Wait finds old and new lines, Count and
// Matches see every line so far, and after a graceful stop the last line
// is there and Wait gives up at the end of the log.
func TestLogAndGracefulStop(t *testing.T) {
	p := start(t, "serve", nil)
	m, ok := p.Log().Wait(regexp.MustCompile(`msg=listening addr=(\S+)`), 10*time.Second)
	if !ok || m[1] != "127.0.0.1:4242" {
		t.Fatalf("listening line: %q, %v", m, ok)
	}
	if _, ok := p.Log().Wait(regexp.MustCompile(`n=2`), 10*time.Second); !ok {
		t.Fatal("no second accepted line")
	}
	if n := p.Log().Count(regexp.MustCompile(`msg=accepted`)); n != 2 {
		t.Errorf("counted %d accepted lines, want 2", n)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(10 * time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v, want status 0", err)
	}
	if _, ok := p.Log().Wait(regexp.MustCompile(`msg=stopped`), time.Second); !ok {
		t.Error("the last line is missing after the exit")
	}
	start := time.Now()
	if _, ok := p.Log().Wait(regexp.MustCompile(`never logged`), 10*time.Second); ok || time.Since(start) > 5*time.Second {
		t.Errorf("waiting for a line after the end: ok=%v after %v, want false at once", ok, time.Since(start))
	}
	if got := p.Log().Tail(2); got != "(2 earlier lines omitted)\nmsg=accepted n=2\nmsg=stopped" {
		t.Errorf("Tail(2) = %q", got)
	}
}

// Wait's bound holds: a child that ignores SIGTERM is killed at the
// timeout, and Wait says so.
func TestWaitKillsAtTheBound(t *testing.T) {
	p := start(t, "hang", nil)
	if _, ok := p.Log().Wait(regexp.MustCompile(`hanging`), 10*time.Second); !ok {
		t.Fatal("child did not start")
	}
	p.Signal(syscall.SIGTERM)
	if err := p.Wait(200 * time.Millisecond); err == nil {
		t.Fatal("Wait returned no error for a child it had to kill")
	}
	select {
	case <-p.Exited():
	default:
		t.Fatal("Exited not closed after Wait killed the child")
	}
}

// With cmd.Stderr set, the log goes there and Log is empty and ended.
func TestStderrElsewhere(t *testing.T) {
	var buf bytes.Buffer
	p := start(t, "say", &buf)
	if _, ok := p.Log().Wait(regexp.MustCompile(`.`), time.Second); ok {
		t.Error("Log has a line although stderr went elsewhere")
	}
	if err := p.Wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte("msg=said")) {
		t.Errorf("stderr went elsewhere but holds %q", buf.String())
	}
}

// Written to as an io.Writer, Lines splits on newlines, keeps a line
// without its newline until the rest comes, and wakes a waiter.
func TestLinesAsWriter(t *testing.T) {
	l := NewLines()
	got := make(chan []string, 1)
	go func() {
		m, _ := l.Wait(regexp.MustCompile(`addr=(\S+)`), 10*time.Second)
		got <- m
	}()
	fmt.Fprint(l, "msg=first\nmsg=listening ad")
	if n := l.Count(regexp.MustCompile(`listening`)); n != 0 {
		t.Errorf("a line without its newline counted %d times", n)
	}
	fmt.Fprint(l, "dr=127.0.0.1:1\nmsg=next\n")
	if m := <-got; m == nil || m[1] != "127.0.0.1:1" {
		t.Errorf("waiter got %q", m)
	}
	if s := l.Tail(10); s != "msg=first\nmsg=listening addr=127.0.0.1:1\nmsg=next" {
		t.Errorf("lines %q", s)
	}
}
