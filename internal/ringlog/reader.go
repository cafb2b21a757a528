package ringlog

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// Reader reads a ring log that another process (or goroutine) may be
// writing, and returns each line once.
type Reader struct {
	f       *os.File
	path    string
	started bool
	id      uint64
	cursor  uint64 // the next sequence number to return
	hdr     [headerUsed]byte
}

// OpenReader opens the ring log at path for reading.
func OpenReader(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ring log: %w", err)
	}
	return &Reader{f: f, path: path}, nil
}

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }

// Next returns, in the order they were written, the intact lines written
// since the previous call; the first call returns every intact line. It
// stops at the header's next number, so a line being written is returned
// by a later call, whole. Lines overwritten before Next saw them are gone;
// a file started afresh (new identifier) is read from its beginning. A
// file that is not a ring log fails with ErrNotRingLog.
func (r *Reader) Next() ([]Line, error) {
	fi, err := r.f.Stat()
	if err != nil {
		return nil, fmt.Errorf("ring log %s: %w", r.path, err)
	}
	if _, err := r.f.ReadAt(r.hdr[:], 0); err != nil {
		return nil, fmt.Errorf("ring log %s: %w", r.path, badRead(err))
	}
	h, err := decodeHeader(r.hdr[:], fi.Size())
	if err != nil {
		return nil, fmt.Errorf("ring log %s: %w", r.path, err)
	}
	if !r.started || h.id != r.id {
		r.started, r.id, r.cursor = true, h.id, 0
	}
	switch {
	case h.next == r.cursor:
		return nil, nil
	case h.next < r.cursor:
		// Only a corrupt header goes back; resume from where it says.
		r.cursor = h.next
		return nil, nil
	}
	data := make([]byte, fileSize(h.lines))
	if _, err := r.f.ReadAt(data, 0); err != nil {
		return nil, fmt.Errorf("ring log %s: %w", r.path, badRead(err))
	}
	out := records(data, h, r.cursor, h.next)
	r.cursor = h.next
	return out, nil
}

// badRead words a short read (a file shorter than its header says, or
// truncated under the reader) as ErrNotRingLog.
func badRead(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: file shorter than its header says", ErrNotRingLog)
	}
	return err
}

// DefaultPoll is how often Follow looks for new lines by default.
const DefaultPoll = 200 * time.Millisecond

// Follow calls emit with every line Next returns, then polls every poll
// (DefaultPoll if zero) for new lines until ctx is done (it then returns
// nil) or reading or emit fails.
func Follow(ctx context.Context, r *Reader, poll time.Duration, emit func(Line) error) error {
	if poll <= 0 {
		poll = DefaultPoll
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		lines, err := r.Next()
		if err != nil {
			return err
		}
		for _, l := range lines {
			if err := emit(l); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Dump writes every intact line of the ring log at path to w, one per
// line as Line.String prints it.
func Dump(path string, w io.Writer) error {
	r, err := OpenReader(path)
	if err != nil {
		return err
	}
	defer r.Close()
	lines, err := r.Next()
	if err != nil {
		return err
	}
	for _, l := range lines {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	return nil
}
