package main

import (
	"bytes"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The shipped sweep definitions (the GitHub workflow and the Kubernetes
// Indexed Job) are checked here against the command they run: each must be
// valid YAML, give every shard index once, agree on the shard count in its
// two places, and pass mobsim's own flag parser with the flags it uses.
// actionlint (make lint) checks the workflow against GitHub's schema.

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// parseSweepArgs expands $(NAME) (Kubernetes) or $NAME (shell) in args
// from vars, unquotes them, and parses them as mobsim's command line.
func parseSweepArgs(t *testing.T, what string, args []string, vars map[string]string) options {
	t.Helper()
	ref := regexp.MustCompile(`\$\(([A-Z_]+)\)|\$([A-Z_]+)`)
	var expanded []string
	for _, a := range args {
		a = strings.Trim(a, `"`)
		a = ref.ReplaceAllStringFunc(a, func(m string) string {
			name := strings.Trim(m, "$()")
			v, ok := vars[name]
			if !ok {
				t.Fatalf("%s: %s is not defined", what, m)
			}
			return v
		})
		expanded = append(expanded, a)
	}
	var errb bytes.Buffer
	o, err := parseFlags(expanded, &errb)
	if err != nil {
		t.Fatalf("%s: mobsim %q: %v %s", what, expanded, err, errb.String())
	}
	return o
}

// Goal: the Indexed Job runs every shard once, with the shard count its
// completions say, and exit codes its failure policy understands.
// Method: parse deploy/sweep-job.yaml and check it.
func TestKubernetesJob(t *testing.T) {
	type container struct {
		Name    string
		Image   string
		Env     []struct{ Name, Value string }
		Command []string
		Args    []string
		Rest    map[string]any `yaml:",inline"`
	}
	var job struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string
		Metadata   map[string]any
		Spec       struct {
			CompletionMode       string `yaml:"completionMode"`
			Completions          int
			Parallelism          int
			BackoffLimitPerIndex int `yaml:"backoffLimitPerIndex"`
			PodFailurePolicy     struct {
				Rules []struct {
					Action      string
					OnExitCodes struct {
						ContainerName string `yaml:"containerName"`
						Operator      string
						Values        []int
					} `yaml:"onExitCodes"`
				}
			} `yaml:"podFailurePolicy"`
			Template struct {
				Metadata map[string]any
				Spec     struct {
					RestartPolicy  string      `yaml:"restartPolicy"`
					InitContainers []container `yaml:"initContainers"`
					Containers     []container
					Rest           map[string]any `yaml:",inline"`
				}
			}
			Rest map[string]any `yaml:",inline"`
		}
	}
	readYAML(t, "../../deploy/sweep-job.yaml", &job)
	s := job.Spec
	if job.APIVersion != "batch/v1" || job.Kind != "Job" || s.CompletionMode != "Indexed" || s.Completions < 1 {
		t.Fatalf("not an Indexed Job: %s %s, completionMode %q, completions %d", job.APIVersion, job.Kind, s.CompletionMode, s.Completions)
	}
	if s.Template.Spec.RestartPolicy != "Never" || s.BackoffLimitPerIndex < 1 {
		t.Errorf("restartPolicy %q, backoffLimitPerIndex %d: a pod failure policy with FailIndex needs Never and a per-index limit",
			s.Template.Spec.RestartPolicy, s.BackoffLimitPerIndex)
	}
	actions := map[int]string{}
	for _, r := range s.PodFailurePolicy.Rules {
		for _, v := range r.OnExitCodes.Values {
			actions[v] = r.Action
		}
	}
	if actions[1] != "FailIndex" || actions[2] != "FailJob" {
		t.Errorf("pod failure policy %v: want exit 1 (a failing seed) → FailIndex, 2 (usage) → FailJob", actions)
	}
	if len(s.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers", len(s.Template.Spec.Containers))
	}
	c := s.Template.Spec.Containers[0]
	vars := map[string]string{}
	for _, e := range c.Env {
		vars[e.Name] = e.Value
	}
	if n, err := strconv.Atoi(vars["SHARDS"]); err != nil || n != s.Completions {
		t.Errorf("SHARDS is %q but completions is %d", vars["SHARDS"], s.Completions)
	}
	if len(c.Command) != 1 || !strings.HasSuffix(c.Command[0], "/mobsim") {
		t.Fatalf("the sweep container runs %q", c.Command)
	}
	for i := range s.Completions {
		vars["JOB_COMPLETION_INDEX"] = strconv.Itoa(i)
		o := parseSweepArgs(t, "job", c.Args, vars)
		if o.shard != (shard{uint64(i), uint64(s.Completions)}) || !o.json || !o.quiet || o.seeds == 0 {
			t.Errorf("index %d runs %+v: want shard %d/%d, -json, -quiet", i, o, i, s.Completions)
		}
	}
	if ic := s.Template.Spec.InitContainers; len(ic) != 1 || !slices.Contains(ic[0].Command, "install") {
		t.Errorf("no init container installing mobsim: %+v", ic)
	}
}

// Goal: the nightly workflow's matrix gives every shard index once, with
// the shard count of SHARDS, and its sweep command parses. Method: parse
// .github/workflows/sweep.yml and run the sweep step's command line
// through mobsim's flag parser for each matrix entry.
func TestSweepWorkflow(t *testing.T) {
	type step struct {
		Name string
		Uses string
		Run  string
		Env  map[string]string
		With map[string]any
		If   string
	}
	var wf struct {
		Name string
		On   struct {
			Schedule         []struct{ Cron string }
			WorkflowDispatch struct {
				Inputs map[string]struct {
					Description, Type, Default string
				}
			} `yaml:"workflow_dispatch"`
		}
		Permissions map[string]string
		Env         map[string]string
		Jobs        map[string]struct {
			Name           string
			Needs          any
			If             string
			RunsOn         string `yaml:"runs-on"`
			TimeoutMinutes int    `yaml:"timeout-minutes"`
			Strategy       struct {
				FailFast bool `yaml:"fail-fast"`
				Matrix   struct{ Shard []int }
			}
			Steps []step
		}
	}
	readYAML(t, "../../.github/workflows/sweep.yml", &wf)
	if len(wf.On.Schedule) == 0 {
		t.Error("the sweep is not scheduled")
	}
	n, err := strconv.Atoi(wf.Env["SHARDS"])
	if err != nil {
		t.Fatalf("SHARDS %q", wf.Env["SHARDS"])
	}
	job, ok := wf.Jobs["shard"]
	if !ok {
		t.Fatal("no shard job")
	}
	want := make([]int, n)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(job.Strategy.Matrix.Shard, want) {
		t.Errorf("matrix shards %v, want %v (SHARDS=%d)", job.Strategy.Matrix.Shard, want, n)
	}
	if job.Strategy.FailFast {
		t.Error("fail-fast would cancel the other shards when one finds a failure")
	}
	var args []string
	for _, st := range job.Steps {
		for line := range strings.SplitSeq(st.Run, "\n") {
			line = strings.TrimSpace(line)
			if cmd, ok := strings.CutPrefix(line, "./mobsim -seeds"); ok {
				cmd, _, _ = strings.Cut(cmd, ">")
				args = append([]string{"-seeds"}, strings.Fields(cmd)...)
			}
		}
	}
	if args == nil {
		t.Fatal("no ./mobsim -seeds line in the shard job")
	}
	inputs := wf.On.WorkflowDispatch.Inputs
	for _, i := range job.Strategy.Matrix.Shard {
		vars := map[string]string{"SEEDS": inputs["seeds"].Default, "START": inputs["start"].Default,
			"SHARDS": wf.Env["SHARDS"], "SHARD": strconv.Itoa(i)}
		o := parseSweepArgs(t, "workflow", args, vars)
		if o.shard != (shard{uint64(i), uint64(n)}) || !o.json {
			t.Errorf("matrix entry %d runs %+v: want shard %d/%d and -json", i, o, i, n)
		}
	}
	merge, ok := wf.Jobs["merge"]
	if !ok || !strings.Contains(merge.Steps[len(merge.Steps)-2].Run, "mobsim merge") {
		t.Error("no merge job running mobsim merge")
	}
}
