// Package atomicfile replaces files so that a reader, or a crash, sees the
// old content or the new, never a mix: for configuration files holding
// keys (wg-quick's save, the manager's edits) and for warren's own state.
// It imports only the standard library.
package atomicfile
