package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
)

// Layout, in SVG user units.
const (
	panelW    = 470 // one panel's width
	panelGap  = 14
	columns   = 2
	titleH    = 34 // a panel's title and target lines
	barH      = 16
	barGap    = 6
	nameW     = 96 // implementation names, left of the bars
	valueW    = 120
	headerH   = 44 // the chart's own title
	barsWidth = panelW - nameW - valueW - 10
)

// palette colours implementations by position: the base grey, then warren
// and its variants.
var palette = []string{"#8c8c8c", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#d62728"}

// render draws r as one SVG document.
func render(r *Results) []byte {
	var b bytes.Buffer
	colour := map[string]string{}
	for _, row := range r.Rows {
		for _, res := range row.Results {
			if _, ok := colour[res.Impl]; !ok {
				colour[res.Impl] = palette[len(colour)%len(palette)]
			}
		}
	}
	heights := make([]int, len(r.Rows))
	for i, row := range r.Rows {
		heights[i] = titleH + len(row.Results)*(barH+barGap) + 6
	}
	// Panels fill the columns row by row; a row of panels is as tall as its
	// tallest.
	var tops []int
	y := headerH
	for i := 0; i < len(r.Rows); i += columns {
		h := 0
		for j := i; j < i+columns && j < len(r.Rows); j++ {
			h = max(h, heights[j])
		}
		tops = append(tops, y)
		y += h + panelGap
	}
	width := columns*panelW + (columns+1)*panelGap
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, y, width, y)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", width, y)
	title := "warren against wireguard-go"
	if r.Quick {
		title += " (quick run)"
	}
	text(&b, panelGap, 20, "font-size=\"15\" font-weight=\"bold\"", title)
	cc := ""
	if r.TCPCC != "" {
		cc = ", TCP " + r.TCPCC
	}
	text(&b, panelGap, 36, `fill="#555555"`, fmt.Sprintf("%s, %s, %s, %d cores%s, %d rounds: bars are medians, ticks each round's value",
		r.Date, r.Machine, r.Kernel, r.Cores, cc, r.Rounds))
	for i, row := range r.Rows {
		x := panelGap + (i%columns)*(panelW+panelGap)
		panel(&b, x, tops[i/columns], row, colour)
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// panel draws one row at (x, y).
func panel(b *bytes.Buffer, x, y int, row Row, colour map[string]string) {
	fmt.Fprintf(b, `<g class="panel" data-metric="%s">`+"\n", attr(row.Metric))
	title := row.Label
	if row.Unit != "" {
		title += " (" + row.Unit + ")"
	}
	text(b, x, y+13, `font-weight="bold"`, title)
	sub := row.Better + " is better"
	if row.Target != "" && row.Target != "-" {
		sub += "; target " + row.Target
	}
	for _, res := range row.Results[1:] {
		if res.Ratio != nil {
			sub += fmt.Sprintf("; %s %.2f×", res.Impl, *res.Ratio)
			if res.OK != nil {
				sub += map[bool]string{true: " ✓", false: " ✗"}[*res.OK]
			}
		}
	}
	text(b, x, y+28, `fill="#555555" font-size="11"`, sub)
	// One scale for the panel: the largest median or round value.
	top := 0.0
	for _, res := range row.Results {
		if res.Median != nil {
			top = max(top, *res.Median)
		}
		for _, v := range res.Values {
			top = max(top, v)
		}
	}
	scale := 0.0
	if top > 0 {
		scale = barsWidth / top
	}
	for k, res := range row.Results {
		by := y + titleH + k*(barH+barGap)
		text(b, x, by+12, "", res.Impl)
		bx := float64(x + nameW)
		if res.Median == nil {
			text(b, int(bx), by+12, `fill="#555555"`, "not measured")
			continue
		}
		w := *res.Median * scale
		fmt.Fprintf(b, `<rect class="bar" data-impl="%s" x="%.1f" y="%d" width="%.2f" height="%d" fill="%s"/>`+"\n",
			attr(res.Impl), bx, by, w, barH, colour[res.Impl])
		for _, v := range res.Values {
			tx := bx + v*scale
			fmt.Fprintf(b, `<line class="round" x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#000000" stroke-width="1.5"/>`+"\n",
				tx, tx, by-2, by+barH+2)
		}
		text(b, int(bx+barsWidth)+8, by+12, "", strconv.FormatFloat(*res.Median, 'g', 4, 64))
	}
	b.WriteString("</g>\n")
}

// text writes s, escaped, at (x, y) with extra attributes attrs.
func text(b *bytes.Buffer, x, y int, attrs, s string) {
	fmt.Fprintf(b, `<text x="%d" y="%d" %s>`, x, y, attrs)
	_ = xml.EscapeText(b, []byte(s)) // a bytes.Buffer does not fail
	b.WriteString("</text>\n")
}

// attr escapes s for an attribute value.
func attr(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
