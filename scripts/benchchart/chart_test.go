package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// bar is one median bar of the chart, as drawn.
type bar struct {
	metric, impl string
	width        float64
}

// parseSVG checks that svg is well-formed XML and returns its bars and the
// text of its text elements.
func parseSVG(t *testing.T, svg []byte) (bars []bar, texts []string) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	metric := ""
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			a := map[string]string{}
			for _, at := range el.Attr {
				a[at.Name.Local] = at.Value
			}
			switch {
			case el.Name.Local == "g" && a["class"] == "panel":
				metric = a["data-metric"]
			case el.Name.Local == "rect" && a["class"] == "bar":
				w, err := strconv.ParseFloat(a["width"], 64)
				if err != nil {
					t.Fatalf("bar width %q: %v", a["width"], err)
				}
				bars = append(bars, bar{metric, a["data-impl"], w})
			case el.Name.Local == "text":
				inText = true
			}
		case xml.CharData:
			if inText {
				texts = append(texts, string(el))
			}
		case xml.EndElement:
			inText = false
		}
	}
	return bars, texts
}

func TestRenderBarsFollowMedians(t *testing.T) {
	data, err := os.ReadFile("testdata/results.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := parseResults(data)
	if err != nil {
		t.Fatal(err)
	}
	bars, texts := parseSVG(t, render(r))
	// tcp1420 has two bars; load_p99_ms only the reference's (warren's
	// median is null: not measured).
	if len(bars) != 3 {
		t.Fatalf("bars = %+v, want 3", bars)
	}
	if bars[0] != (bar{"tcp1420", "ref", bars[0].width}) || bars[1].impl != "warren" || bars[2].metric != "load_p99_ms" {
		t.Fatalf("bars = %+v, want tcp1420 ref, warren, then load_p99_ms ref", bars)
	}
	// Within a panel the bars are to scale: warren's 3.2 against ref's 2.1,
	// and the panel's largest value (warren's 3.4 round) spans the full width.
	if got, want := bars[1].width/bars[0].width, 3.2/2.1; got < want-0.01 || got > want+0.01 {
		t.Errorf("warren/ref bar widths = %.3f, want %.3f", got, want)
	}
	if got, want := bars[1].width, 3.2/3.4*barsWidth; got < want-0.1 || got > want+0.1 {
		t.Errorf("warren bar width = %.2f, want %.2f", got, want)
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"Test CPU <x>", "TCP bbr", "target ratio >= 1.5", "warren 1.52× ✓", "not measured", "3.2"} {
		if !strings.Contains(all, want) {
			t.Errorf("chart text lacks %q; has:\n%s", want, all)
		}
	}
}

func TestParseResultsRejects(t *testing.T) {
	for name, in := range map[string]string{
		"no rows":     `{"rows":[]}`,
		"no metric":   `{"rows":[{"better":"higher","results":[{"impl":"ref","values":[1]}]}]}`,
		"no results":  `{"rows":[{"metric":"tcp1420","better":"higher","results":[]}]}`,
		"bad better":  `{"rows":[{"metric":"tcp1420","better":"up","results":[{"impl":"ref","values":[1]}]}]}`,
		"negative":    `{"rows":[{"metric":"tcp1420","better":"higher","results":[{"impl":"ref","values":[-1]}]}]}`,
		"no impl":     `{"rows":[{"metric":"tcp1420","better":"higher","results":[{"values":[1]}]}]}`,
		"not json":    `{"rows":`,
		"stray field": `{"rows":[],"extra":1}`,
	} {
		_, err := parseResults([]byte(in))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	_, err := parseResults([]byte(`{"rows":[{"metric":"tcp9000","better":"higher","results":[]}]}`))
	if err == nil || !strings.Contains(err.Error(), "tcp9000") {
		t.Errorf("err = %v, want it to name the row tcp9000", err)
	}
}

func TestRunWritesChartOrNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "chart.svg")
	if err := run("testdata/results.json", out); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	parseSVG(t, svg)
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"rows":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(dir, "bad.svg")
	if err := run(bad, out2); !errors.Is(err, ErrInvalid) {
		t.Fatalf("run(bad) = %v, want ErrInvalid", err)
	}
	if _, err := os.Stat(out2); !os.IsNotExist(err) {
		t.Errorf("a chart was written for invalid results (stat: %v)", err)
	}
}

func FuzzParseResults(f *testing.F) {
	seed, err := os.ReadFile("testdata/results.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := parseResults(in)
		if err != nil {
			return
		}
		parseSVG(t, render(r)) // what parses must draw as well-formed XML
	})
}
