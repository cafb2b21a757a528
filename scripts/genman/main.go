// Command genman writes warren's man pages from a warren binary's own
// --help texts, so that a page says exactly what --help says and cannot
// drift from it: warren(8) from `warren --help` (and the help of `help`
// and `version`), and one page per group of commands internal/cli lists
// for Linux — warren-quick(8), warren-wg(8), warren-daemon(8),
// warren-proxy(8), warren-selftest(8), warren-manager(8) — each holding
// `warren NAME --help` of its commands, verbatim.
//
//	go run ./scripts/genman -warren PATH/TO/warren -o DIR
//
// The binary must run on this machine (scripts/package-deb.sh passes the
// one of the host's architecture; the text is the same for every one).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/warren-vpn/warren/internal/cli"
)

// goos is the platform the pages describe: the .deb's.
const goos = "linux"

func main() {
	warren := flag.String("warren", "", "the warren binary whose --help texts make the pages")
	out := flag.String("o", "", "directory to write the pages (NAME.8) to")
	flag.Parse()
	if *warren == "" || *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "Usage: genman -warren PATH/TO/warren -o DIR")
		os.Exit(2)
	}
	pages, err := generate(*warren, *out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "genman: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "genman: wrote %s\n", strings.Join(pages, ", "))
}

// helpText runs `warren args...` and returns what it printed on stdout,
// which must be its help: exit status 0, a "Usage:" line, nothing on
// stderr.
func helpText(warren string, args ...string) (string, error) {
	cmd := exec.Command(warren, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("warren %s: %w\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	text := stdout.String()
	if !strings.Contains(text, "Usage:") || stderr.Len() != 0 {
		return "", fmt.Errorf("warren %s printed no help on stdout: %q (stderr %q)", strings.Join(args, " "), text, stderr.Bytes())
	}
	return text, nil
}

// generate writes the pages into dir and returns their file names.
func generate(warren, dir string) ([]string, error) {
	ver, err := exec.Command(warren, "version").Output()
	if err != nil {
		return nil, fmt.Errorf("warren version: %w", err)
	}
	first, _, _ := strings.Cut(string(ver), "\n")
	version, ok := strings.CutPrefix(first, "warren v")
	if !ok {
		return nil, fmt.Errorf("warren version printed %q", first)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var written []string
	write := func(name string, render func(*bytes.Buffer) error) error {
		var b bytes.Buffer
		if err := render(&b); err != nil {
			return err
		}
		written = append(written, name)
		return os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644)
	}
	usage, err := helpText(warren, "--help")
	if err != nil {
		return nil, err
	}
	var misc []cli.Help
	for _, p := range cli.Pages {
		cmds := cli.PageCommands(p.Name, goos)
		if len(cmds) == 0 {
			continue
		}
		var helps []cli.Help
		for _, c := range cmds {
			text, err := helpText(warren, c.Name, "--help")
			if err != nil {
				return nil, err
			}
			helps = append(helps, cli.Help{Command: c, Text: text})
		}
		if p.Name == "misc" {
			misc = helps
			continue
		}
		if err := write("warren-"+p.Name+".8", func(b *bytes.Buffer) error { return cli.ManPage(b, p, version, helps) }); err != nil {
			return nil, err
		}
	}
	if err := write("warren.8", func(b *bytes.Buffer) error { return cli.OverviewPage(b, usage, version, goos, misc) }); err != nil {
		return nil, err
	}
	if len(written) < 2 {
		return nil, errors.New("no command pages")
	}
	return written, nil
}
