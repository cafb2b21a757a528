package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// ErrNoSamples: the input held no sample to draw.
var ErrNoSamples = errors.New("no samples")

// stack is one sampled call chain, outermost frame first, the process's
// command name at its root.
type stack []string

// parsePerfScript reads the default output of `perf script` on a
// recording made with call graphs (perf record -g): per sample a header
// line (command, pid, time, event) and then one line per frame, innermost
// first, and a blank line. Samples of other commands than comm (when not
// empty) are skipped.
func parsePerfScript(r *bufio.Reader, comm string) ([]stack, error) {
	var out []stack
	var cur []string // innermost first
	var name string
	keep := false
	inSample := false
	lineNo := 0
	flush := func() {
		if inSample && keep {
			s := make(stack, 0, len(cur)+1)
			s = append(s, name)
			for i := len(cur) - 1; i >= 0; i-- {
				s = append(s, cur[i])
			}
			out = append(out, s)
		}
		cur, inSample = cur[:0], false
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("read perf script output: %w", err)
		}
		if line == "" && err == io.EOF {
			break
		}
		lineNo++
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
			if !inSample {
				return nil, fmt.Errorf("perf script line %d: a frame outside a sample: %q", lineNo, line)
			}
			cur = append(cur, frameName(strings.TrimSpace(line)))
		default:
			flush()
			name = commName(line)
			keep = comm == "" || name == comm
			inSample = true
		}
		if err == io.EOF {
			break
		}
	}
	flush()
	return out, nil
}

// commName is the command name of a sample header: everything before the
// pid (the first field made of digits, possibly pid/tid).
func commName(header string) string {
	f := strings.Fields(header)
	for i, w := range f {
		if i > 0 && isPid(w) {
			return strings.Join(f[:i], " ")
		}
	}
	if len(f) > 0 {
		return f[0]
	}
	return "?"
}

func isPid(w string) bool {
	if w == "" {
		return false
	}
	for _, c := range w {
		if (c < '0' || c > '9') && c != '/' {
			return false
		}
	}
	return true
}

// frameName is the function of a frame line "addr symbol+0xoff (dso)",
// without the offset; an unknown symbol is named by its object.
func frameName(s string) string {
	if i := strings.IndexByte(s, ' '); i > 0 {
		s = s[i+1:]
	}
	dso := ""
	if i := strings.LastIndex(s, " ("); i >= 0 && strings.HasSuffix(s, ")") {
		dso = s[i+2 : len(s)-1]
		s = s[:i]
	}
	if i := strings.LastIndex(s, "+0x"); i > 0 {
		s = s[:i]
	}
	if s == "" || s == "[unknown]" {
		if dso != "" && dso != "unknown" && dso != "[unknown]" {
			return "[" + dso + "]"
		}
		return "[unknown]"
	}
	return s
}

// node is a frame in the merged call tree: total samples in it and under it.
type node struct {
	name     string
	total    int
	children map[string]*node
}

func buildTree(stacks []stack) *node {
	root := &node{name: "all", children: map[string]*node{}}
	for _, s := range stacks {
		n := root
		n.total++
		for _, f := range s {
			c := n.children[f]
			if c == nil {
				c = &node{name: f, children: map[string]*node{}}
				n.children[f] = c
			}
			c.total++
			n = c
		}
	}
	return root
}

// sorted returns n's children by name, so the same profile always draws
// the same graph.
func (n *node) sorted() []*node {
	cs := make([]*node, 0, len(n.children))
	for _, c := range n.children {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	return cs
}

// writeTop prints the n functions with the most samples on top of the
// stack (self) and anywhere in it (inclusive), as shares of total.
func writeTop(w io.Writer, stacks []stack, total, n int) {
	self := map[string]int{}
	incl := map[string]int{}
	for _, s := range stacks {
		if len(s) > 0 {
			self[s[len(s)-1]]++
		}
		seen := map[string]bool{}
		for _, f := range s {
			if !seen[f] {
				seen[f] = true
				incl[f]++
			}
		}
	}
	for _, m := range []struct {
		title string
		c     map[string]int
	}{{"self", self}, {"inclusive", incl}} {
		fmt.Fprintf(w, "top %d by %s samples (of %d):\n", n, m.title, total)
		names := make([]string, 0, len(m.c))
		for k := range m.c {
			names = append(names, k)
		}
		sort.Slice(names, func(i, j int) bool {
			if m.c[names[i]] != m.c[names[j]] {
				return m.c[names[i]] > m.c[names[j]]
			}
			return names[i] < names[j]
		})
		for _, k := range names[:min(n, len(names))] {
			fmt.Fprintf(w, "  %5.1f%%  %s\n", 100*float64(m.c[k])/float64(total), k)
		}
	}
}
