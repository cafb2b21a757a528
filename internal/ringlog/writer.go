package ringlog

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Options adjust Open.
type Options struct {
	// Lines is how many lines the file keeps; zero means DefaultLines. A
	// file made with another number is started afresh.
	Lines int
}

// ErrClosed: the Log was closed.
var ErrClosed = errors.New("ring log closed")

// Log writes to a ring log file. Its methods are safe for concurrent use,
// and every Open of the same path in one process shares one writer, so
// that lines never collide in a slot.
type Log struct {
	r    *ring
	once sync.Once
}

// ring is the writer of one file, shared by every Log open on it.
type ring struct {
	path  string
	refs  int // guarded by rings.mu
	mu    sync.Mutex
	f     *os.File
	lines uint64
	next  uint64
	slot  [SlotSize]byte
	now   func() time.Time
}

// maxSeq bounds sequence numbers: a file claiming more is corrupt and
// started afresh (so that numbers never wrap).
const maxSeq = 1 << 62

var rings = struct {
	mu sync.Mutex
	m  map[string]*ring
}{m: map[string]*ring{}}

// Open opens the ring log at path for writing, creating it if needed. An
// existing log is continued after its last intact line; a file that is not
// a ring log of this version and size (or is corrupt beyond its lines) is
// started afresh. A path that is a symbolic link or not a regular file is
// refused (ErrNotRegular), so that a link planted there cannot make the
// writer overwrite its target. The file is created with mode 0600; on Windows it
// inherits its folder's DACL.
func Open(path string, opts Options) (*Log, error) {
	lines := uint64(DefaultLines)
	if opts.Lines != 0 {
		if opts.Lines < 0 || opts.Lines > MaxLines {
			return nil, fmt.Errorf("ring log %s: %d lines, want 1 to %d", path, opts.Lines, MaxLines)
		}
		lines = uint64(opts.Lines)
	}
	key, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("ring log %s: %w", path, err)
	}
	rings.mu.Lock()
	defer rings.mu.Unlock()
	if r := rings.m[key]; r != nil {
		if r.lines != lines {
			return nil, fmt.Errorf("ring log %s: already open with %d lines, not %d", path, r.lines, lines)
		}
		r.refs++
		return &Log{r: r}, nil
	}
	r, err := openRing(path, lines)
	if err != nil {
		return nil, fmt.Errorf("ring log %s: %w", path, err)
	}
	r.refs = 1
	rings.m[key] = r
	r.path = key
	return &Log{r: r}, nil
}

// ErrNotRegular: the path names a link, a directory or a device, which a
// writer would otherwise truncate or follow.
var ErrNotRegular = errors.New("not a regular file")

// openRing opens or initialises the file and finds the next line's number.
func openRing(path string, lines uint64) (*ring, error) {
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w (%v)", ErrNotRegular, fi.Mode().Type())
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	r := &ring{f: f, lines: lines, now: time.Now}
	if err := r.resume(); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// resume continues the file if it is a ring log with r's geometry, and
// initialises it otherwise.
func (r *ring) resume() error {
	fi, err := r.f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == fileSize(r.lines) {
		data := make([]byte, fi.Size())
		if _, err := r.f.ReadAt(data, 0); err != nil {
			return err
		}
		if h, err := decodeHeader(data, fi.Size()); err == nil && h.lines == r.lines {
			// The slots are the truth: a crash between a line and the
			// header's update leaves the header one behind. The header
			// counts too, so that numbers never go back for a reader
			// following the file (its last lines may have been torn).
			next := h.next
			for _, l := range records(data, h, 0, ^uint64(0)) {
				next = max(next, l.Seq+1)
			}
			if next <= maxSeq {
				r.next = next
				return r.writeNext()
			}
		}
	}
	return r.initialise()
}

// initialise zeroes the file at its full size, then writes a header with a
// new identifier, so that a reader following the old contents starts over.
func (r *ring) initialise() error {
	if err := r.f.Truncate(fileSize(r.lines)); err != nil {
		return err
	}
	zero := make([]byte, 64*SlotSize)
	for off := int64(SlotSize); off < fileSize(r.lines); off += int64(len(zero)) {
		n := min(int64(len(zero)), fileSize(r.lines)-off)
		if _, err := r.f.WriteAt(zero[:n], off); err != nil {
			return err
		}
	}
	var id [8]byte
	rand.Read(id[:])
	r.next = 0
	encodeHeader(r.slot[:], header{lines: r.lines, next: 0, id: binary.LittleEndian.Uint64(id[:])})
	_, err := r.f.WriteAt(r.slot[:], 0)
	return err
}

func (r *ring) writeNext() error {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], r.next)
	_, err := r.f.WriteAt(b[:], offNext)
	return err
}

// append writes one line (already clipped and printable): its slot, then
// the header's next number.
func (r *ring) append(tag, text string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return ErrClosed
	}
	encodeRecord(r.slot[:], r.next, r.now().UnixNano(), tag, text)
	if _, err := r.f.WriteAt(r.slot[:], slotOffset(r.next, r.lines)); err != nil {
		return fmt.Errorf("ring log %s: %w", r.path, err)
	}
	r.next++
	if err := r.writeNext(); err != nil {
		return fmt.Errorf("ring log %s: %w", r.path, err)
	}
	return nil
}

// Write stores text under tag, one line for each of its non-blank lines.
// The tag is cut to MaxTag bytes and each line to what its slot holds
// (ending in "..."); control characters become '?'.
func (l *Log) Write(tag, text string) error {
	tag = clip(printable(tag), MaxTag)
	for _, line := range splitLines(text) {
		if err := l.r.append(tag, clip(line, MaxText-len(tag))); err != nil {
			return err
		}
	}
	return nil
}

// Logf formats a message and writes it under tag. A log that cannot be
// written has nowhere to report that, so errors are dropped.
func (l *Log) Logf(tag, format string, args ...any) {
	_ = l.Write(tag, fmt.Sprintf(format, args...))
}

// Printf returns a printf-style function writing under tag (the shape of
// the engine's device.Logger fields).
func (l *Log) Printf(tag string) func(format string, args ...any) {
	return func(format string, args ...any) { l.Logf(tag, format, args...) }
}

// Println returns a function writing its argument under tag (the shape of
// wintunnel.Options.Warn).
func (l *Log) Println(tag string) func(msg string) {
	return func(msg string) { _ = l.Write(tag, msg) }
}

// Writer returns an io.Writer that stores what is written to it under tag,
// a line at a time: a partial line waits for its newline (or for Flush)
// until it would no longer fit a slot. It is not safe for concurrent use;
// use one Writer per source.
func (l *Log) Writer(tag string) *LineWriter {
	return &LineWriter{l: l, tag: tag}
}

// LineWriter is Log.Writer's io.Writer.
type LineWriter struct {
	l       *Log
	tag     string
	pending []byte
}

var _ io.Writer = (*LineWriter)(nil)

// Write implements io.Writer.
func (w *LineWriter) Write(p []byte) (int, error) {
	w.pending = append(w.pending, p...)
	for {
		i := indexNewline(w.pending)
		if i < 0 {
			break
		}
		if err := w.l.Write(w.tag, string(w.pending[:i])); err != nil {
			return 0, err
		}
		w.pending = w.pending[i+1:]
	}
	if len(w.pending) > MaxText {
		// A line longer than a slot is cut anyway: store it now rather
		// than buffer without bound.
		err := w.l.Write(w.tag, string(w.pending))
		w.pending = w.pending[:0]
		if err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush stores a pending partial line.
func (w *LineWriter) Flush() error {
	if len(w.pending) == 0 {
		return nil
	}
	err := w.l.Write(w.tag, string(w.pending))
	w.pending = w.pending[:0]
	return err
}

func indexNewline(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}

// Close releases this Log; the file closes when the last Log open on it in
// this process does. Closing twice is harmless.
func (l *Log) Close() error {
	var err error
	l.once.Do(func() {
		rings.mu.Lock()
		defer rings.mu.Unlock()
		r := l.r
		r.refs--
		if r.refs > 0 {
			return
		}
		delete(rings.m, r.path)
		r.mu.Lock()
		defer r.mu.Unlock()
		err = r.f.Close()
		r.f = nil
	})
	return err
}
