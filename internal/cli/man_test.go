package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/testenv"
)

// render formats a man page with man(1) as a reader sees it, at width
// 250 so that no line wraps, and returns its lines with man's indentation
// of the page's body removed. It fails t if man has a warning.
func render(t *testing.T, page []byte) []string {
	t.Helper()
	testenv.RequireTool(t, "man", "man-db")
	path := filepath.Join(t.TempDir(), "page.8")
	if err := os.WriteFile(path, page, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("man", "--warnings", "-l", path)
	cmd.Env = append(os.Environ(), "MANWIDTH=250", "MANPAGER=cat", "PAGER=cat", "LC_ALL=C.UTF-8", "MAN_KEEP_FORMATTING=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() != 0 {
		t.Fatalf("man -l: %v\n%s", err, stderr.Bytes())
	}
	var lines []string
	for line := range strings.SplitSeq(string(out), "\n") {
		lines = append(lines, strings.TrimRight(strings.TrimPrefix(line, "       "), " "))
	}
	return lines
}

// containsInOrder reports the first line of text (tabs expanded, trailing
// space dropped) not found in rendered after the previous one, or "".
func containsInOrder(rendered []string, text string) (missing string, ok bool) {
	i := 0
	for line := range strings.SplitSeq(strings.TrimRight(text, "\n"), "\n") {
		want := strings.TrimRight(ExpandTabs(line), " ")
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

// TestManPageVerbatim: what roff would take as requests, escapes, quotes
// or hyphens comes out of man exactly as written.
func TestManPageVerbatim(t *testing.T) {
	text := "Usage: warren tricky [--flag] 'quoted' `ticked` ~tilde^caret\n" +
		".TH not a request\n'also not a request\n\\fBnot bold\\fP and a\\backslash\n" +
		"\tindented by a tab\ncol\there\n  two spaces, trailing space \n\nafter a blank line — ünïcode"
	var b bytes.Buffer
	p := Page{Name: "tricky", Title: "a page with - and 'quotes'", Heading: "h", Description: "It's \\ tricky."}
	c := Command{Name: "tricky", Summary: "test roff's escapes", Page: "tricky"}
	if err := ManPage(&b, p, "1.2.3-dev", []Help{{Command: c, Text: text}}); err != nil {
		t.Fatal(err)
	}
	rendered := render(t, b.Bytes())
	if missing, ok := containsInOrder(rendered, text); !ok {
		t.Errorf("line %q missing from the rendered page:\n%s", missing, strings.Join(rendered, "\n"))
	}
	for _, want := range []string{"warren-tricky - a page with - and 'quotes'", "It's \\ tricky.", "warren tricky [--flag] 'quoted' `ticked` ~tilde^caret"} {
		if !strings.Contains(strings.Join(rendered, "\n"), want) {
			t.Errorf("rendered page lacks %q:\n%s", want, strings.Join(rendered, "\n"))
		}
	}
}

func TestExpandTabs(t *testing.T) {
	for in, want := range map[string]string{"": "", "\tx": "        x", "ab\tc": "ab      c", "12345678\tx": "12345678        x", "a\t\tb": "a               b"} {
		if got := ExpandTabs(in); got != want {
			t.Errorf("ExpandTabs(%q) = %q, want %q", in, got, want)
		}
	}
}
