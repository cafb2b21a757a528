package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/cli"
	"github.com/warren-vpn/warren/internal/testenv"
)

// TestPagesHoldEveryHelp builds warren, writes its man pages and checks,
// through man(1) as a reader sees them, that every command's --help
// appears in its page line by line, and `warren --help` in warren(8), with
// no warning from man.
func TestPagesHoldEveryHelp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds warren")
	}
	testenv.RequireTool(t, "man", "man-db")
	dir := t.TempDir()
	warren := filepath.Join(dir, "warren")
	build := exec.Command("go", "build", "-o", warren, "../../cmd/warren")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "man")
	written, err := generate(warren, out)
	if err != nil {
		t.Fatal(err)
	}
	help := func(args ...string) string {
		b, err := exec.Command(warren, args...).Output()
		if err != nil {
			t.Fatalf("warren %q: %v", args, err)
		}
		return string(b)
	}
	check := func(page, text string) {
		t.Helper()
		rendered := render(t, filepath.Join(out, page))
		if missing, ok := containsInOrder(rendered, text); !ok {
			t.Errorf("%s lacks %q (of %q)", page, missing, firstLine(text))
		}
	}
	check("warren.8", help("--help"))
	n := 0
	for _, c := range cli.Listed(goos) {
		page := "warren-" + c.Page + ".8"
		if c.Page == "misc" {
			page = "warren.8"
		}
		check(page, help(c.Name, "--help"))
		n++
	}
	if n < 20 || len(written) < 6 {
		t.Errorf("%d commands in %d pages: too few", n, len(written))
	}
}

// render formats the page with man, at a width at which nothing wraps,
// and returns its lines without man's indentation of the body.
func render(t *testing.T, path string) []string {
	t.Helper()
	cmd := exec.Command("man", "--warnings", "-l", path)
	cmd.Env = append(os.Environ(), "MANWIDTH=250", "MANPAGER=cat", "PAGER=cat", "LC_ALL=C.UTF-8")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil || stderr.Len() != 0 {
		t.Fatalf("man -l %s: %v\n%s", path, err, stderr.Bytes())
	}
	var lines []string
	for line := range strings.SplitSeq(string(b), "\n") {
		lines = append(lines, strings.TrimRight(strings.TrimPrefix(line, "       "), " "))
	}
	return lines
}

// containsInOrder returns the first line of text not found in rendered
// after the one before it.
func containsInOrder(rendered []string, text string) (string, bool) {
	i := 0
	for line := range strings.SplitSeq(strings.TrimRight(text, "\n"), "\n") {
		want := strings.TrimRight(cli.ExpandTabs(line), " ")
		for i < len(rendered) && rendered[i] != want {
			i++
		}
		if i == len(rendered) {
			return line, false
		}
		i++
	}
	return "", true
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
