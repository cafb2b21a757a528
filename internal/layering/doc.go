// Package layering holds no code: its test enforces the import rules of
// DESIGN.md with `go list -deps`, so that the protocol core stays pure, the
// engine stays free of control and platform-tool code, the wg command set
// never links the engine, and the reference implementation stays test-only.
package layering
