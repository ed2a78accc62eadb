package load

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/mobsim/mobsim/internal/child"
)

// Report holds every run's figures: Values[scenario][metric][impl] is the
// list of per-run values, in run order.
type Report struct {
	Plan    Plan
	Started time.Time
	Elapsed time.Duration
	NoFile  uint64
	Values  map[string]map[string]map[string][]float64
}

func (r *Report) add(scenario, impl string, m map[string]float64) {
	if r.Values[scenario] == nil {
		r.Values[scenario] = map[string]map[string][]float64{}
	}
	for name, v := range m {
		if r.Values[scenario][name] == nil {
			r.Values[scenario][name] = map[string][]float64{}
		}
		r.Values[scenario][name][impl] = append(r.Values[scenario][name][impl], v)
	}
}

// Run executes the plan. Within each repetition every server runs each
// scenario in turn, so slow drifts of a shared machine hit all of them alike.
// Progress goes to log.
func Run(ctx context.Context, pl Plan, log io.Writer) (*Report, error) {
	nofile, err := child.RaiseNOFILE()
	if err != nil {
		return nil, err
	}
	if need := uint64(pl.IdleConns + 256); slices.Contains(pl.Scenarios, "idle") && nofile < need {
		return nil, fmt.Errorf("descriptor limit %d is below the %d the idle scenario needs", nofile, need)
	}
	r := &Report{Plan: pl, Started: time.Now(), NoFile: nofile, Values: map[string]map[string]map[string][]float64{}}
	for _, name := range pl.Scenarios {
		sc, err := FindScenario(name)
		if err != nil {
			return nil, err
		}
		for run := range pl.Runs {
			for _, impl := range pl.Impls {
				if err := ctx.Err(); err != nil {
					return r, err
				}
				profile := ""
				if pl.ProfileDir != "" && impl == pl.Impls[0] && name != "idle" {
					profile = profilePath(pl.ProfileDir, name, impl, run)
				}
				t := time.Now()
				m, err := runOne(ctx, pl, sc, impl, profile)
				if err != nil {
					return r, fmt.Errorf("%s run %d, %s: %w", name, run+1, impl, err)
				}
				r.add(name, impl, m)
				fmt.Fprintf(log, "%-12s run %d %-10s %5.1fs %s\n", name, run+1, impl, time.Since(t).Seconds(), brief(sc, m))
			}
		}
	}
	r.Elapsed = time.Since(r.Started)
	return r, nil
}

func runOne(ctx context.Context, pl Plan, sc Scenario, impl, profile string) (map[string]float64, error) {
	bin, name := pl.Bin, impl
	if n, path, ok := strings.Cut(impl, "@"); ok {
		// "mob@/tmp/peer-main": another build of cmd/peer, say the one
		// before a change, compared in the same run.
		bin, name = path, n
	}
	p, err := StartProc(bin, name, sc.Framing)
	if err != nil {
		return nil, err
	}
	m, err := sc.run(ctx, pl, p, profile)
	if cerr := p.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return m, err
}

func brief(sc Scenario, m map[string]float64) string {
	var b strings.Builder
	for _, mt := range sc.Metrics {
		fmt.Fprintf(&b, " %s=%s", mt.Name, format(m[mt.Name]))
	}
	return b.String()
}

// Aggregate returns the figure reported for one cell: the median of the runs,
// or the worst run for metrics marked Worst. NaN when there is no value.
func (r *Report) Aggregate(scenario string, mt Metric, impl string) float64 {
	vs := slices.Clone(r.Values[scenario][mt.Name][impl])
	if len(vs) == 0 {
		return math.NaN()
	}
	slices.Sort(vs)
	if mt.Worst {
		if mt.Better == "lower" {
			return vs[len(vs)-1]
		}
		return vs[0]
	}
	if n := len(vs); n%2 == 0 {
		return (vs[n/2-1] + vs[n/2]) / 2
	}
	return vs[len(vs)/2]
}

// WriteTable prints scenario, metric, one column per server, and the ratio of
// the first server to each other one. markdown selects a Markdown table.
func (r *Report) WriteTable(w io.Writer, markdown bool) {
	impls := r.Plan.Impls
	head := []string{"scenario", "metric"}
	head = append(head, impls...)
	for _, o := range impls[1:] {
		head = append(head, impls[0]+"/"+o)
	}
	rows := [][]string{head}
	for _, name := range r.Plan.Scenarios {
		sc, err := FindScenario(name)
		if err != nil {
			continue
		}
		for _, mt := range sc.Metrics {
			row := []string{name, mt.Name}
			first := r.Aggregate(name, mt, impls[0])
			for _, impl := range impls {
				row = append(row, format(r.Aggregate(name, mt, impl)))
			}
			for _, o := range impls[1:] {
				row = append(row, ratio(first, r.Aggregate(name, mt, o)))
			}
			rows = append(rows, row)
		}
	}
	widths := make([]int, len(head))
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], len(c))
		}
	}
	for i, row := range rows {
		var b strings.Builder
		for j, c := range row {
			if markdown {
				b.WriteString("| ")
			} else if j > 0 {
				b.WriteString("  ")
			}
			if j < 2 {
				fmt.Fprintf(&b, "%-*s", widths[j], c)
			} else {
				fmt.Fprintf(&b, "%*s", widths[j], c)
			}
			if markdown {
				b.WriteString(" ")
			}
		}
		if markdown {
			b.WriteString("|")
		}
		fmt.Fprintln(w, b.String())
		if i == 0 && markdown {
			b.Reset()
			for j := range row {
				if j < 2 {
					fmt.Fprintf(&b, "|:%s", strings.Repeat("-", widths[j]+1))
				} else {
					fmt.Fprintf(&b, "|%s:", strings.Repeat("-", widths[j]+1))
				}
			}
			fmt.Fprintln(w, b.String()+"|")
		}
	}
}

// WriteRuns prints every run's value, for the spread behind each median.
func (r *Report) WriteRuns(w io.Writer) {
	for _, name := range r.Plan.Scenarios {
		sc, err := FindScenario(name)
		if err != nil {
			continue
		}
		for _, mt := range sc.Metrics {
			fmt.Fprintf(w, "%-12s %-24s", name, mt.Name)
			for _, impl := range r.Plan.Impls {
				var vs []string
				for _, v := range r.Values[name][mt.Name][impl] {
					vs = append(vs, format(v))
				}
				fmt.Fprintf(w, "  %s [%s]", impl, strings.Join(vs, " "))
			}
			fmt.Fprintln(w)
		}
	}
}

func ratio(a, b float64) string {
	switch {
	case math.IsNaN(a) || math.IsNaN(b):
		return "-"
	case b == 0 && a == 0:
		return "="
	case b == 0:
		return "inf"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// format prints a figure with three significant digits, scaled by k or M.
func format(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "-"
	case v == 0:
		return "0"
	case a >= 1e6:
		return sig(v/1e6) + "M"
	case a >= 1e4:
		return sig(v/1e3) + "k"
	default:
		return sig(v)
	}
}

func sig(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	case a >= 0.01:
		return fmt.Sprintf("%.3f", v)
	default:
		return fmt.Sprintf("%.2g", v)
	}
}
