package properties

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/mobsim/mobsim/sim"
)

// bugFlag switches bugs from the server's catalog on in every server these
// tests build, so the catalog can show which property catches which bug:
//
//	go run ./internal/cmd/bugbuild test ./properties -run TestStateMachine -mobsim.bug=lifo-queue
var bugFlag = flag.String("mobsim.bug", "", "comma-separated names of catalog bugs to switch on in every server (the catalog build only: package bugs)")

func bugNames() []string {
	if *bugFlag == "" {
		return nil
	}
	return strings.Split(*bugFlag, ",")
}

// TestMain refuses a -mobsim.bug the build cannot honour before any property
// runs, instead of letting every check fail the same way.
//
// It also makes the state machine's stories longer by default (200 actions
// on average instead of rapid's 30): a check costs about a millisecond,
// and longer stories reach the bugs that need several frames queued. An
// explicit -rapid.steps or RAPID_STEPS still wins; shrinking is unaffected.
func TestMain(m *testing.M) {
	flag.Parse()
	stepsSet := false
	flag.Visit(func(f *flag.Flag) { stepsSet = stepsSet || f.Name == "rapid.steps" })
	if _, env := os.LookupEnv("RAPID_STEPS"); !stepsSet && !env {
		if err := flag.Set("rapid.steps", "200"); err != nil {
			fmt.Fprintf(os.Stderr, "rapid.steps: %v\n", err)
			os.Exit(2)
		}
	}
	if err := sim.CheckBugs(bugNames()); err != nil {
		fmt.Fprintf(os.Stderr, "-mobsim.bug=%s: %v\n", *bugFlag, err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}
