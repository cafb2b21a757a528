package main

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/buildinfo"
	"github.com/warren-vpn/warren/internal/cli"
	"github.com/warren-vpn/warren/internal/wgcmd"
)

// runArgs runs the binary's logic in-process as argv0 with args.
func runArgs(argv0 string, args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(append([]string{argv0}, args...), strings.NewReader(""), &o, &e)
	return code, o.String(), e.String()
}

// dispatchCases returns the strings of the case clauses of dispatch in
// main.go.
func dispatchCases(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var cases []string
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "dispatch" {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			if cc, ok := n.(*ast.CaseClause); ok {
				for _, e := range cc.List {
					if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						s, _ := strconv.Unquote(lit.Value)
						cases = append(cases, s)
					}
				}
			}
			return true
		})
	}
	if len(cases) == 0 {
		t.Fatal("no case clauses found in dispatch")
	}
	return cases
}

// TestDispatchMatchesList: every command dispatch knows is listed in
// internal/cli (so help, man pages and completion know it), and every
// listed command is dispatched.
func TestDispatchMatchesList(t *testing.T) {
	cases := dispatchCases(t)
	aliases := []string{"--version", "-h", "--help"}
	for _, c := range cases {
		if _, ok := cli.Lookup(c); !ok && !slices.Contains(aliases, c) {
			t.Errorf("dispatch runs %q, which internal/cli's Commands does not list: add it there "+
				"(Name, Page, Summary), with a page in Pages if it needs its own man page", c)
		}
	}
	for _, c := range cli.Commands {
		if !slices.Contains(cases, c.Name) {
			t.Errorf("internal/cli lists %q, which dispatch does not run", c.Name)
		}
	}
}

// TestEveryCommandHelp: every command answers -h and --help with its own
// help on stdout and exit 0, and `warren help NAME` prints the same.
func TestEveryCommandHelp(t *testing.T) {
	for _, c := range cli.Commands {
		for _, flag := range []string{"-h", "--help"} {
			code, out, errOut := runArgs("warren", c.Name, flag)
			want := "Usage: "
			if c.WindowsOnly && runtime.GOOS != "windows" {
				want = "warren " + c.Name + " is Windows-only"
			}
			if code != 0 || !strings.HasPrefix(out, want) || errOut != "" {
				t.Errorf("warren %s %s: exit %d, stdout %q, stderr %q; want stdout starting %q", c.Name, flag, code, out, errOut, want)
			}
			if c.Name != "help" && c.Name != "version" && !strings.Contains(out, c.Name) {
				t.Errorf("warren %s %s does not name the command:\n%s", c.Name, flag, out)
			}
		}
		_, byFlag, _ := runArgs("warren", c.Name, "--help")
		if code, out, _ := runArgs("warren", "help", c.Name); code != 0 || out != byFlag {
			t.Errorf("warren help %s: exit %d, printed %q; want what --help prints, %q", c.Name, code, out, byFlag)
		}
	}
}

// TestUsage: `warren`, `warren --help` and `warren help` print the list of
// the commands that exist here (not the Windows-only ones on Linux, and
// not wg's list alone); an unknown command gets that list on stderr and
// exit 1.
func TestUsage(t *testing.T) {
	var want bytes.Buffer
	cli.Usage(&want, runtime.GOOS)
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		if code, out, errOut := runArgs("warren", args...); code != 0 || out != want.String() || errOut != "" {
			t.Errorf("warren %q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	for _, c := range cli.Commands {
		listed := strings.Contains(want.String(), "\n  "+c.Name+" ")
		if wantListed := !c.WindowsOnly || runtime.GOOS == "windows"; listed != wantListed {
			t.Errorf("command %s listed: %v, want %v", c.Name, listed, wantListed)
		}
	}
	for _, args := range [][]string{{"bogus"}, {"help", "bogus"}, {"--bogus"}} {
		code, out, errOut := runArgs("warren", args...)
		if code != 1 || out != "" || !strings.Contains(errOut, "unknown command \"") || !strings.HasSuffix(errOut, want.String()) {
			t.Errorf("warren %q: exit %d, stdout %q, stderr %q; want the error and the full list", args, code, out, errOut)
		}
	}
	if code, _, errOut := runArgs("warren", "help", "up", "down"); code != 1 || !strings.HasPrefix(errOut, "warren help: one command at a time") {
		t.Errorf("warren help up down: exit %d, stderr %q", code, errOut)
	}
}

// TestVersions: warren version, --version, wg-quick --version print
// warren's version and commit; as wg, --version, -v and version first print
// wg's line, which scripts parse ("wireguard-tools vX - URL").
func TestVersions(t *testing.T) {
	info := buildinfo.Read().String()
	for _, tc := range []struct {
		argv0 string
		args  []string
		want  string
	}{
		{"warren", []string{"version"}, info},
		{"warren", []string{"--version"}, info},
		{"/usr/bin/wg-quick", []string{"--version"}, info},
		{"wg", []string{"--version"}, wgcmd.VersionLine + "\n" + info},
		{"/usr/bin/wg", []string{"-v"}, wgcmd.VersionLine + "\n" + info},
		{"wg", []string{"version"}, wgcmd.VersionLine + "\n" + info},
	} {
		if code, out, errOut := runArgs(tc.argv0, tc.args...); code != 0 || out != tc.want || errOut != "" {
			t.Errorf("%s %q: exit %d, stdout %q, stderr %q; want %q", tc.argv0, tc.args, code, out, errOut, tc.want)
		}
	}
	if !strings.HasPrefix(wgcmd.VersionLine, "wireguard-tools v1.0.") || strings.Fields(wgcmd.VersionLine)[2] != "-" {
		t.Errorf("wg's version line %q is not in wg's format", wgcmd.VersionLine)
	}
	if code, _, errOut := runArgs("warren", "version", "x"); code != 1 || !strings.HasPrefix(errOut, "warren version: takes no arguments") {
		t.Errorf("warren version x: exit %d, stderr %q", code, errOut)
	}
}

// stutter matches a message that names the program (and command) twice
// before saying what is wrong: "warren: warren up: ...".
var stutter = regexp.MustCompile(`warren( [a-z]+)?: .*warren( [a-z]+)?: `)

// TestNoStutter: errors name the program and command once.
func TestNoStutter(t *testing.T) {
	for _, args := range [][]string{
		{"up", "/nonexistent/wg0.conf"}, {"strip", "/nonexistent/wg0.conf"}, {"down"}, {"daemon"}, {"daemon", "-x"},
		{"demo", "--size", "x"}, {"demo", "extra"}, {"version", "x"}, {"help", "x", "y"}, {"bogus"},
		{"genkey", "x"}, {"showconf"}, {"set"}, {"manager", "--bogus"}, {"proxy", "--bogus"}, {"selftest", "extra"},
		{"import", "x.conf"}, {"export"}, {"service"}, {"log", "-n"},
	} {
		_, _, errOut := runArgs("warren", args...)
		first, _, _ := strings.Cut(errOut, "\n")
		if errOut == "" || stutter.MatchString(first) {
			t.Errorf("warren %q: first line %q", args, first)
		}
	}
}
