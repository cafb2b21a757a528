package ringlog

import (
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary file contents to the reader (seeds in
// testdata/fuzz/FuzzParse: an empty log, a full one that wrapped, torn and
// corrupt ones). Whatever it is given, Parse must not panic, and what it
// returns must be lines a writer could have written: in slot order by
// sequence number, distinct, within the size limits. A writer given the
// same file must continue it (or start it afresh) and a reader must then
// see the new line.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := Parse(data)
		if err != nil {
			return
		}
		h, _ := decodeHeader(data, int64(len(data)))
		for i, l := range lines {
			if i > 0 && l.Seq <= lines[i-1].Seq {
				t.Fatalf("line %d: seq %d after %d", i, l.Seq, lines[i-1].Seq)
			}
			if len(l.Tag) > MaxTag || len(l.Tag)+len(l.Text) > MaxText || l.Text == "" {
				t.Fatalf("line %d: tag %d bytes, text %d bytes", i, len(l.Tag), len(l.Text))
			}
			if s := l.String(); !utf8.ValidString(s) {
				t.Fatalf("line %d prints as invalid UTF-8: %q", i, s)
			}
		}
		if uint64(len(lines)) > h.lines {
			t.Fatalf("%d lines from a file of %d slots", len(lines), h.lines)
		}
		if h.lines > 64 {
			return // keep each run small
		}
		path := filepath.Join(t.TempDir(), "f.bin")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		w, err := Open(path, Options{Lines: int(h.lines)})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if err := w.Write("F", "appended"); err != nil {
			t.Fatal(err)
		}
		r, err := OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		after, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if len(after) == 0 || after[len(after)-1].Text != "appended" {
			t.Fatalf("after appending, the reader's last line is not it: %d lines", len(after))
		}
	})
}
