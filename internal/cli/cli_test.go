package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestTables: every command has a summary and a page that exists; names
// are unique; every page but the platform's empty ones has commands.
func TestTables(t *testing.T) {
	pages := map[string]bool{}
	for _, p := range Pages {
		if pages[p.Name] || p.Title == "" || p.Heading == "" || p.Description == "" {
			t.Errorf("page %q: duplicate or incomplete", p.Name)
		}
		pages[p.Name] = true
	}
	seen := map[string]bool{}
	for _, c := range Commands {
		if seen[c.Name] || c.Summary == "" || !pages[c.Page] {
			t.Errorf("command %q: duplicate, no summary, or unknown page %q", c.Name, c.Page)
		}
		seen[c.Name] = true
		if got, ok := Lookup(c.Name); !ok || got != c {
			t.Errorf("Lookup(%q) = %+v, %v", c.Name, got, ok)
		}
	}
	if _, ok := Lookup("bogus"); ok {
		t.Error("Lookup found bogus")
	}
}

// TestUsageByPlatform: the Windows-only commands are listed on Windows
// alone; each listed command is on a line of its own with its summary.
func TestUsageByPlatform(t *testing.T) {
	for _, goos := range []string{"linux", "windows"} {
		var b bytes.Buffer
		Usage(&b, goos)
		for _, c := range Commands {
			listed := strings.Contains(b.String(), "\n  "+c.Name+" ")
			if want := !c.WindowsOnly || goos == "windows"; listed != want {
				t.Errorf("%s: %s listed %v, want %v", goos, c.Name, listed, want)
			}
			if listed && !strings.Contains(b.String(), c.Summary+"\n") {
				t.Errorf("%s: %s listed without its summary", goos, c.Name)
			}
		}
	}
}
