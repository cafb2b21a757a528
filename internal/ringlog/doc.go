// Package ringlog owns a persistent ring log: one file of fixed size that
// holds the last Lines lines a process wrote, each with a timestamp and a
// short tag, for a reader in another process to print and follow.
//
// The file is a header slot followed by Lines slots of SlotSize bytes. The
// header holds a magic string, the format version, the geometry, an
// identifier chosen when the file was (re)initialised, and the sequence
// number of the next line. Line number s lives in slot s mod Lines and
// carries s, its time, its tag and its text under a CRC-32C, so a reader
// skips a slot torn by a crash or by a write in progress, and a slot that
// is not where its sequence number says it should be. The writer writes a
// line's slot before it advances the header, so a reader that stops at
// the header's next number never sees a line still being written. Lines
// are ordered by sequence number: the order they were written in, which is
// their timestamps' order unless the wall clock was set back.
//
// It uses ordinary file I/O only (no memory mapping), so it behaves the
// same on every platform; the Windows tunnel service writes one per tunnel
// and `warren log NAME` reads it. It imports nothing of warren's.
package ringlog
