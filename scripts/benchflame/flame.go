package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"hash/fnv"
)

// Layout of the flame graph, in SVG user units.
const (
	flameW     = 1200
	frameH     = 16
	flameTop   = 40 // room for the title
	minFrameW  = 0.5
	charW      = 6.5 // an average glyph at font size 11
	flameInset = 10
)

// renderFlame draws the tree as a flame graph: the root at the bottom,
// each frame as wide as its share of the samples.
func renderFlame(root *node, title string) []byte {
	depth := maxDepth(root, 0)
	height := flameTop + (depth+1)*frameH + flameInset
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="monospace" font-size="11">`+"\n",
		flameW, height, flameW, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fdfdf5"/>`+"\n", flameW, height)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-family="sans-serif">`, flameInset)
	escape(&b, fmt.Sprintf("%s (%d samples; hover a frame for its share)", title, root.total))
	b.WriteString("</text>\n")
	scale := float64(flameW-2*flameInset) / float64(root.total)
	drawFrame(&b, root, root.total, float64(flameInset), height-flameInset-frameH, scale)
	b.WriteString("</svg>\n")
	return b.Bytes()
}

func maxDepth(n *node, d int) int {
	m := d
	for _, c := range n.children {
		m = max(m, maxDepth(c, d+1))
	}
	return m
}

// drawFrame draws n at (x, y) and its children on the row above it.
func drawFrame(b *bytes.Buffer, n *node, total int, x float64, y int, scale float64) {
	w := float64(n.total) * scale
	if w < minFrameW {
		return
	}
	label := fmt.Sprintf("%s (%d samples, %.2f%%)", n.name, n.total, 100*float64(n.total)/float64(total))
	b.WriteString(`<g class="frame"><title>`)
	escape(b, label)
	fmt.Fprintf(b, `</title><rect x="%.2f" y="%d" width="%.2f" height="%d" fill="%s" rx="1"/>`, x, y, w, frameH-1, colour(n.name))
	if fit := int((w - 4) / charW); fit >= 3 {
		name := n.name
		if len(name) > fit {
			name = name[:fit-2] + ".."
		}
		fmt.Fprintf(b, `<text x="%.2f" y="%d">`, x+2, y+frameH-4)
		escape(b, name)
		b.WriteString("</text>")
	}
	b.WriteString("</g>\n")
	cx := x
	for _, c := range n.sorted() {
		drawFrame(b, c, total, cx, y-frameH, scale)
		cx += float64(c.total) * scale
	}
}

// colour picks a warm colour from the name, so a function keeps its colour
// across graphs; kernel frames (no package path) are drawn cooler.
func colour(name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	v := h.Sum32()
	r, g, bl := 205+int(v%50), 80+int(v>>8%120), 40+int(v>>16%40)
	if !bytes.ContainsAny([]byte(name), "./") { // kernel symbols, [objects]
		r, g, bl = 80+int(v%60), 150+int(v>>8%70), 200+int(v>>16%55)
	}
	return fmt.Sprintf("#%02x%02x%02x", r, g, bl)
}

func escape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s)) // a bytes.Buffer does not fail
}
