// Command benchchart draws the results scripts/bench.sh writes as JSON into
// one SVG chart: a panel per row of the table, a bar per implementation
// (the median over rounds) with a tick for each round's own value, and the
// ratio to the reference against the row's target.
//
// Usage: benchchart [-o chart.svg] results.json
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	out := flag.String("o", "", "write the SVG here instead of to standard output")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: benchchart [-o chart.svg] results.json")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *out); err != nil {
		fmt.Fprintf(os.Stderr, "benchchart: %v\n", err)
		os.Exit(1)
	}
}

// run reads the results at in and writes their chart to out (standard
// output when empty), through a temporary file so that a failure leaves no
// half-written chart.
func run(in, out string) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return fmt.Errorf("read results: %w", err)
	}
	res, err := parseResults(data)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	svg := render(res)
	if out == "" {
		_, err = os.Stdout.Write(svg)
		return err
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, svg, 0o644); err != nil {
		return fmt.Errorf("write chart: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write chart: %w", err)
	}
	return nil
}
