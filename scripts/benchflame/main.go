// Command benchflame turns the samples of `perf script` into a flame graph
// (SVG) and a summary of where the time went: scripts/bench.sh's profile of
// the daemons, kept under docs/bench.
//
// Usage: perf script | benchflame [-comm warren] [-title T] [-top N] -o flame.svg
//
// A flame graph stacks each sampled call chain from the bottom (the
// outermost frame) up; a frame's width is its share of the samples, so
// wide frames near the top are where the CPU time went.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	out := flag.String("o", "", "write the SVG here (required)")
	comm := flag.String("comm", "", "keep only the samples of processes with this command name")
	title := flag.String("title", "flame graph", "the graph's title")
	top := flag.Int("top", 0, "also print the N functions with the most samples to standard error")
	flag.Parse()
	if *out == "" || flag.NArg() > 1 {
		fmt.Fprintln(os.Stderr, "usage: benchflame [-comm NAME] [-title T] [-top N] -o flame.svg [perf-script.txt]")
		os.Exit(2)
	}
	var in io.Reader = os.Stdin
	if flag.NArg() == 1 {
		f, err := os.Open(flag.Arg(0))
		if err != nil {
			fmt.Fprintf(os.Stderr, "benchflame: %v\n", err)
			os.Exit(1)
		}
		defer f.Close()
		in = f
	}
	if err := run(in, *out, *comm, *title, *top, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "benchflame: %v\n", err)
		os.Exit(1)
	}
}

// run reads perf script output from in and writes the flame graph to out.
func run(in io.Reader, out, comm, title string, top int, summary io.Writer) error {
	stacks, err := parsePerfScript(bufio.NewReader(in), comm)
	if err != nil {
		return err
	}
	root := buildTree(stacks)
	if root.total == 0 {
		return fmt.Errorf("%w: no samples (of command %q)", ErrNoSamples, comm)
	}
	if top > 0 {
		writeTop(summary, stacks, root.total, top)
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, renderFlame(root, title), 0o644); err != nil {
		return fmt.Errorf("write flame graph: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write flame graph: %w", err)
	}
	return nil
}
