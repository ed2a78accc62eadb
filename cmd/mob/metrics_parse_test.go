package main

import (
	"bytes"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// family is one metric family as the Prometheus text parser read it.
type family struct {
	typ, help string
	labels    []map[string]string
	values    []float64
}

// parseMetrics reads an exposition with the Prometheus project's own
// parser of the text format (expfmt), with the classic name rules, so that
// anything Prometheus would refuse to scrape fails the test.
func parseMetrics(t *testing.T, text []byte) map[string]*family {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, text)
	}
	out := map[string]*family{}
	for name, mf := range mfs {
		f := &family{help: mf.GetHelp()}
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			f.typ = "counter"
		case dto.MetricType_GAUGE:
			f.typ = "gauge"
		default:
			f.typ = mf.GetType().String()
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			f.labels = append(f.labels, labels)
			switch {
			case m.Counter != nil:
				f.values = append(f.values, m.GetCounter().GetValue())
			case m.Gauge != nil:
				f.values = append(f.values, m.GetGauge().GetValue())
			default:
				f.values = append(f.values, m.GetUntyped().GetValue())
			}
		}
		out[name] = f
	}
	return out
}

// Goal: the test's parser is strict, not a pass-through. Method: feed it
// expositions with the faults a hand-written writer could make.
func TestMetricsParserIsStrict(t *testing.T) {
	for _, bad := range []string{
		"# TYPE a counter\n# TYPE a gauge\na 1\n",                         // a family typed twice
		"a{reason=\"eof} 1\n",                                             // an unterminated label value
		"a{reason=\"eof\",reason=\"rst\"} 1\n",                            // a label given twice
		"# TYPE a gauge\na 1\n# TYPE b gauge\nb 2\n# TYPE a gauge\na 3\n", // a family declared twice
		"bad-name 1\n",                        // not a metric name
		"# TYPE a_total counter\na_total -\n", // not a number
	} {
		p := expfmt.NewTextParser(model.LegacyValidation)
		if _, err := p.TextToMetricFamilies(bytes.NewReader([]byte(bad))); err == nil {
			t.Errorf("the parser accepted %q", bad)
		}
	}
}
