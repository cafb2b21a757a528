package metrics

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// gather collects c through a pedantic registry (which checks every
// metric against the exposition's rules).
func gather(t testing.TB, c prometheus.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// parse reads the text exposition format.
func parse(t testing.TB, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	return mfs
}

// canonical writes a family as sorted lines "name{l="v",...} value" after
// its help and type, with each metric's labels in name order: the order of
// labels in the text format carries no meaning (client_golang sorts them,
// the exporter prints interface, public_key, allowed_ips, friendly_name).
func canonical(mf *dto.MetricFamily) string {
	var lines []string
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		var b strings.Builder
		b.WriteString(mf.GetName() + "{")
		for i, k := range slices.Sorted(maps.Keys(labels)) {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%s=%q", k, labels[k])
		}
		var v float64
		switch {
		case m.Counter != nil:
			v = m.Counter.GetValue()
		case m.Gauge != nil:
			v = m.Gauge.GetValue()
		case m.Untyped != nil:
			v = m.Untyped.GetValue()
		}
		fmt.Fprintf(&b, "} %v", v)
		lines = append(lines, b.String())
	}
	slices.Sort(lines)
	return fmt.Sprintf("# HELP %s %s\n# TYPE %s %s\n%s\n", mf.GetName(), mf.GetHelp(), mf.GetName(), mf.GetType(), strings.Join(lines, "\n"))
}

// compareExposition checks that got has exactly the families in want (a
// text exposition), metric for metric and label for label.
func compareExposition(t testing.TB, got map[string]*dto.MetricFamily, want io.Reader) {
	t.Helper()
	w := parse(t, want)
	for name, mf := range w {
		g, ok := got[name]
		if !ok {
			t.Errorf("missing family %s", name)
			continue
		}
		if cg, cw := canonical(g), canonical(mf); cg != cw {
			t.Errorf("family %s differs:\n--- got\n%s--- want\n%s", name, cg, cw)
		}
	}
	for name := range got {
		if _, ok := w[name]; !ok {
			t.Errorf("unexpected family %s", name)
		}
	}
}
