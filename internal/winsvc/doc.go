// Package winsvc owns warren's Windows tunnel service: the command line
// (`warren service install PATH.conf`, `uninstall NAME|--all`, `list`,
// `warren import FILE.conf`, `warren export NAME`, `warren log NAME`), the
// installed program's place (%ProgramFiles%\warren, which only
// administrators may change), the per-tunnel service that brings a tunnel
// up and down through the Tunnel interface and stops with a non-zero exit
// when it dies, the policy that refuses PreUp/PostUp/PreDown/PostDown
// commands unless an administrator opted in, the store that keeps imported
// configurations encrypted with DPAPI (SYSTEM's scope) in a directory only
// SYSTEM and Administrators can read, and each tunnel's persistent ring log.
//
// The logic that needs no Windows API (argument parsing, tunnel and service
// names, the hook policy, the store's file layout over an injected cipher)
// is platform-neutral and tested everywhere; the service manager, DPAPI and
// ACL calls live in _windows.go files and are tested under wine where wine
// can run them. On other systems the commands say they are Windows-only.
//
// It imports internal/conf (one config parser for all), internal/uapi
// (names), internal/ringlog (the log) and internal/winacl (who may change
// a file); it never imports the engine: the data plane plugs in through
// Tunnel, which cmd/warren supplies.
package winsvc
