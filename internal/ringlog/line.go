package ringlog

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Line is one line of a ring log.
type Line struct {
	// Seq is the line's sequence number: lines are numbered in the order
	// they were written, from zero when the file was initialised.
	Seq  uint64
	Time time.Time
	Tag  string
	Text string
}

// TimeFormat is how String prints a line's time (local time, as the
// reference's log viewer does).
const TimeFormat = "2006-01-02 15:04:05.000000"

// String is the line as `warren log` prints it:
// "2006-01-02 15:04:05.000000: [TAG] text" (no brackets without a tag).
// Control characters are shown as '?', so that a line cannot drive the
// terminal it is printed on.
func (l Line) String() string {
	var b strings.Builder
	b.WriteString(l.Time.Local().Format(TimeFormat))
	b.WriteString(": ")
	if l.Tag != "" {
		b.WriteString("[")
		b.WriteString(printable(l.Tag))
		b.WriteString("] ")
	}
	b.WriteString(printable(l.Text))
	return b.String()
}

// printable replaces control characters (tabs excepted) and invalid UTF-8
// with '?'.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || (r < 0x20 && r != '\t') || (r >= 0x7f && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

// clip cuts s to at most n bytes at a rune boundary; a cut string ends in
// "..." (within the n bytes).
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const more = "..."
	cut := max(n-len(more), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + more[:min(len(more), n)]
}

// splitLines splits text into the lines to store: at newlines, carriage
// returns and trailing blanks dropped, blank lines skipped, each made
// printable.
func splitLines(text string) []string {
	var out []string
	for l := range strings.Lines(text) {
		l = strings.TrimRight(l, " \t\r\n")
		if l != "" {
			out = append(out, printable(l))
		}
	}
	return out
}
