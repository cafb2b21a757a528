package ringlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTest(t *testing.T, lines int) (*Log, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wg0.bin")
	l, err := Open(path, Options{Lines: lines})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path
}

func readAll(t *testing.T, path string) []Line {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func texts(lines []Line) []string {
	var out []string
	for _, l := range lines {
		out = append(out, l.Tag+"|"+l.Text)
	}
	return out
}

func TestWriteAndRead(t *testing.T) {
	l, path := openTest(t, 0)
	before := time.Now()
	if err := l.Write("SVC", "tunnel wg0 is up"); err != nil {
		t.Fatal(err)
	}
	l.Logf("ENG", "peer %d: handshake\nsecond line\r\n\n", 1)
	l.Println("WARN")("pinning failed")
	after := time.Now()
	got := readAll(t, path)
	want := []string{"SVC|tunnel wg0 is up", "ENG|peer 1: handshake", "ENG|second line", "WARN|pinning failed"}
	if fmt.Sprint(texts(got)) != fmt.Sprint(want) {
		t.Fatalf("lines = %q, want %q", texts(got), want)
	}
	for i, line := range got {
		if line.Seq != uint64(i) {
			t.Errorf("line %d: seq %d", i, line.Seq)
		}
		if line.Time.Before(before.Truncate(time.Nanosecond)) || line.Time.After(after) {
			t.Errorf("line %d: time %v not within [%v, %v]", i, line.Time, before, after)
		}
	}
	s := got[0].String()
	if !strings.HasSuffix(s, ": [SVC] tunnel wg0 is up") || len(s) != len(TimeFormat)+len(": [SVC] tunnel wg0 is up") {
		t.Errorf("String() = %q", s)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != (DefaultLines+1)*SlotSize {
		t.Errorf("file size %d, want %d", fi.Size(), (DefaultLines+1)*SlotSize)
	}
}

// The file never grows: the oldest lines give way.
func TestWrapsAtFixedSize(t *testing.T) {
	l, path := openTest(t, 4)
	for i := range 10 {
		l.Logf("T", "line %d", i)
	}
	got := readAll(t, path)
	want := []string{"T|line 6", "T|line 7", "T|line 8", "T|line 9"}
	if fmt.Sprint(texts(got)) != fmt.Sprint(want) {
		t.Fatalf("lines = %q, want %q", texts(got), want)
	}
	fi, _ := os.Stat(path)
	if fi.Size() != 5*SlotSize {
		t.Errorf("file size %d, want %d", fi.Size(), 5*SlotSize)
	}
}

func TestLongLinesAndControlCharacters(t *testing.T) {
	l, path := openTest(t, 8)
	long := strings.Repeat("é", 400) // 800 bytes
	l.Write("a-very-long-tag-name-indeed", long)
	l.Write("T", "bell\a esc\x1b[31m red\x7f tab\tok \xff")
	got := readAll(t, path)
	if len(got) != 2 {
		t.Fatalf("%d lines, want 2", len(got))
	}
	if got[0].Tag != "a-very-long-t..." {
		t.Errorf("tag = %q", got[0].Tag)
	}
	if n := len(got[0].Tag) + len(got[0].Text); n > MaxText || !strings.HasSuffix(got[0].Text, "é...") {
		t.Errorf("long line kept %d bytes, ends %q", n, got[0].Text[len(got[0].Text)-8:])
	}
	if want := "bell? esc?[31m red? tab\tok ?"; got[1].Text != want {
		t.Errorf("text = %q, want %q", got[1].Text, want)
	}
}

func TestReopenContinues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wg0.bin")
	l, err := Open(path, Options{Lines: 8})
	if err != nil {
		t.Fatal(err)
	}
	l.Write("A", "one")
	l.Write("A", "two")
	l.Close()
	l, err = Open(path, Options{Lines: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Write("B", "three")
	got := readAll(t, path)
	if fmt.Sprint(texts(got)) != fmt.Sprint([]string{"A|one", "A|two", "B|three"}) || got[2].Seq != 2 {
		t.Fatalf("lines = %q (last seq %d)", texts(got), got[len(got)-1].Seq)
	}
}

// A process that died between a line and the header's update, or in the
// middle of a line, leaves a file the next writer continues and readers
// read, without the torn line.
func TestCrashLeavesReadableLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wg0.bin")
	l, err := Open(path, Options{Lines: 8})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		l.Logf("A", "line %d", i)
	}
	l.Close()
	data, _ := os.ReadFile(path)
	// Line 3 written but the header not advanced, then line 4 torn
	// halfway (its slot holds the start of the new record over zeros).
	slot := make([]byte, SlotSize)
	encodeRecord(slot, 3, time.Now().UnixNano(), "A", "line 3")
	copy(data[slotOffset(3, 8):], slot)
	encodeRecord(slot, 4, time.Now().UnixNano(), "A", "line 4 that was torn")
	copy(data[slotOffset(4, 8):], slot[:30])
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := texts(readAll(t, path)); fmt.Sprint(got) != fmt.Sprint([]string{"A|line 0", "A|line 1", "A|line 2", "A|line 3"}) {
		t.Fatalf("after the crash: %q", got)
	}
	l, err = Open(path, Options{Lines: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Write("B", "after restart")
	got := readAll(t, path)
	if last := got[len(got)-1]; last.Text != "after restart" || last.Seq != 4 {
		t.Errorf("after restart: %q, last seq %d, want 4", texts(got), last.Seq)
	}
}

func TestCorruptSlotsAreSkipped(t *testing.T) {
	l, path := openTest(t, 8)
	for i := range 5 {
		l.Logf("A", "line %d", i)
	}
	data, _ := os.ReadFile(path)
	data[slotOffset(1, 8)+recordHeader+2] ^= 0x20 // flip a bit in line 1's text
	// Line 3's record copied into slot 2: right CRC, wrong place.
	copy(data[slotOffset(2, 8):slotOffset(2, 8)+SlotSize], data[slotOffset(3, 8):])
	got, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"A|line 0", "A|line 3", "A|line 4"}; fmt.Sprint(texts(got)) != fmt.Sprint(want) {
		t.Errorf("lines = %q, want %q", texts(got), want)
	}
}

func TestNotARingLog(t *testing.T) {
	_, path := openTest(t, 4)
	good, _ := os.ReadFile(path)
	for name, mutate := range map[string]func([]byte) []byte{
		"empty":      func([]byte) []byte { return nil },
		"magic":      func(b []byte) []byte { b[0] = 'x'; return b },
		"version":    func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:], 2); return b },
		"slot size":  func(b []byte) []byte { binary.LittleEndian.PutUint32(b[12:], 256); return b },
		"zero lines": func(b []byte) []byte { binary.LittleEndian.PutUint32(b[16:], 0); return b },
		"short":      func(b []byte) []byte { return b[:len(b)-1] },
		"long":       func(b []byte) []byte { return append(b, 0) },
	} {
		data := mutate(append([]byte(nil), good...))
		if _, err := Parse(data); !errors.Is(err, ErrNotRingLog) {
			t.Errorf("%s: Parse = %v, want ErrNotRingLog", name, err)
		}
		// A writer starts such a file afresh.
		p := filepath.Join(t.TempDir(), "x.bin")
		os.WriteFile(p, data, 0o600)
		l, err := Open(p, Options{Lines: 4})
		if err != nil {
			t.Fatalf("%s: Open = %v", name, err)
		}
		l.Write("T", "fresh")
		l.Close()
		if got := texts(readAll(t, p)); fmt.Sprint(got) != "[T|fresh]" {
			t.Errorf("%s: after Open, lines = %q", name, got)
		}
	}
}

// Writers in many goroutines, through one Log or several Opens of the same
// path, never share a slot or lose a line.
func TestConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wg0.bin")
	const writers, each = 8, 100
	var wg sync.WaitGroup
	for w := range writers {
		l, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer l.Close()
			for i := range each {
				l.Logf("W", "writer %d line %d", w, i)
			}
		})
	}
	wg.Wait()
	got := readAll(t, path)
	if len(got) != writers*each {
		t.Fatalf("%d lines, want %d", len(got), writers*each)
	}
	seen := map[string]bool{}
	last := map[int]int{}
	for i, l := range got {
		if l.Seq != uint64(i) {
			t.Fatalf("line %d has seq %d", i, l.Seq)
		}
		var w, n int
		if _, err := fmt.Sscanf(l.Text, "writer %d line %d", &w, &n); err != nil || seen[l.Text] {
			t.Fatalf("line %q: %v (seen %v)", l.Text, err, seen[l.Text])
		}
		seen[l.Text] = true
		if prev, ok := last[w]; ok && n != prev+1 {
			t.Errorf("writer %d: line %d after %d", w, n, prev)
		}
		last[w] = n
	}
	// Once all are closed, the path may be opened with another geometry.
	l, err := Open(path, Options{Lines: 3})
	if err != nil {
		t.Fatalf("reopen after all closed: %v", err)
	}
	l.Close()
}

func TestOpenSharedGeometry(t *testing.T) {
	_, path := openTest(t, 4)
	if _, err := Open(path, Options{Lines: 8}); err == nil {
		t.Error("a second Open with another geometry succeeded")
	}
	if _, err := Open(path, Options{Lines: MaxLines + 1}); err == nil {
		t.Error("Open with too many lines succeeded")
	}
}

func TestWriterSplitsLines(t *testing.T) {
	l, path := openTest(t, 16)
	w := l.Writer("PostUp")
	fmt.Fprint(w, "first\r\nsec")
	fmt.Fprint(w, "ond\n\nthird")
	if got := texts(readAll(t, path)); fmt.Sprint(got) != "[PostUp|first PostUp|second]" {
		t.Errorf("before Flush: %q", got)
	}
	w.Flush()
	fmt.Fprint(w, strings.Repeat("x", 2*MaxText)) // no newline: bounded anyway
	got := readAll(t, path)
	if len(got) != 4 || got[2].Text != "third" || !strings.HasSuffix(got[3].Text, "...") {
		t.Errorf("after Flush and a long partial line: %q", texts(got))
	}
	if len(w.pending) != 0 {
		t.Errorf("%d bytes still buffered", len(w.pending))
	}
}

// A reader following the file returns each line once, in order, never a
// line the header does not yet count, and starts over when the file is.
func TestReaderNext(t *testing.T) {
	l, path := openTest(t, 4)
	l.Write("A", "one")
	r, err := OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	next := func() []string {
		t.Helper()
		lines, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		return texts(lines)
	}
	if got := next(); fmt.Sprint(got) != "[A|one]" {
		t.Fatalf("first Next = %q", got)
	}
	if got := next(); len(got) != 0 {
		t.Fatalf("Next with nothing new = %q", got)
	}
	l.Write("A", "two")
	l.Write("A", "three")
	if got := next(); fmt.Sprint(got) != "[A|two A|three]" {
		t.Fatalf("Next = %q", got)
	}
	// A line in its slot but not yet counted by the header: not returned
	// until it is.
	f, _ := os.OpenFile(path, os.O_RDWR, 0)
	slot := make([]byte, SlotSize)
	encodeRecord(slot, 3, time.Now().UnixNano(), "A", "four")
	f.WriteAt(slot, slotOffset(3, 4))
	if got := next(); len(got) != 0 {
		t.Fatalf("Next returned an uncounted line: %q", got)
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], 4)
	f.WriteAt(b[:], offNext)
	f.Close()
	l.r.next = 4 // as the writer would have it
	if got := next(); fmt.Sprint(got) != "[A|four]" {
		t.Fatalf("Next = %q", got)
	}
	// Lapped: six lines written, only the last four still there.
	for i := range 6 {
		l.Logf("B", "%d", i)
	}
	if got := next(); fmt.Sprint(got) != "[B|2 B|3 B|4 B|5]" {
		t.Fatalf("Next after a lap = %q", got)
	}
	// Started afresh by a writer that found it corrupt.
	l.Close()
	data, _ := os.ReadFile(path)
	data[0] = 0
	os.WriteFile(path, data, 0o600)
	if _, err := r.Next(); !errors.Is(err, ErrNotRingLog) {
		t.Fatalf("Next on a corrupt header = %v", err)
	}
	l2, err := Open(path, Options{Lines: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	l2.Write("C", "fresh")
	if got := next(); fmt.Sprint(got) != "[C|fresh]" {
		t.Fatalf("Next after a fresh start = %q", got)
	}
}

func TestFollow(t *testing.T) {
	l, path := openTest(t, 64)
	l.Write("A", "before")
	r, err := OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(t.Context())
	got := make(chan string, 10)
	done := make(chan error)
	go func() {
		done <- Follow(ctx, r, time.Millisecond, func(l Line) error { got <- l.Text; return nil })
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case s := <-got:
			if s != want {
				t.Fatalf("followed %q, want %q", s, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no line %q", want)
		}
	}
	expect("before")
	l.Write("A", "after")
	expect("after")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Follow = %v", err)
	}
	// emit's error ends it.
	stop := errors.New("stop")
	l.Write("A", "more")
	if err := Follow(t.Context(), r, time.Millisecond, func(Line) error { return stop }); err != stop {
		t.Errorf("Follow = %v, want emit's error", err)
	}
}

func TestDump(t *testing.T) {
	l, path := openTest(t, 4)
	l.Write("SVC", "hello")
	var b strings.Builder
	if err := Dump(path, &b); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(b.String(), ": [SVC] hello\n") || strings.Count(b.String(), "\n") != 1 {
		t.Errorf("Dump = %q", b.String())
	}
	if err := Dump(filepath.Join(t.TempDir(), "none.bin"), &b); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Dump of a missing file = %v", err)
	}
}

// A link or a directory where the log should be is refused, and a link's
// target is left alone.
func TestOpenRefusesLinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "precious")
	if err := os.WriteFile(target, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "wg0.bin")
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("cannot make a symbolic link here: %v", err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode().Type() != os.ModeSymlink {
		t.Skipf("symbolic link made but not there (%v): wine's CreateSymbolicLink does nothing", err)
	}
	if _, err := Open(link, Options{}); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Open of a symbolic link = %v, want ErrNotRegular", err)
	}
	if data, _ := os.ReadFile(target); string(data) != "keep me" {
		t.Errorf("the link's target now holds %d bytes", len(data))
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Open of a directory = %v, want ErrNotRegular", err)
	}
}
