// Package winsvc owns warren's Windows tunnel service: the command line
// (`warren service install PATH.conf`, `uninstall NAME`, `list`, `warren
// import FILE.conf`, `warren export NAME`), the per-tunnel service that
// brings a tunnel up and down through the Tunnel interface, the policy that
// refuses PreUp/PostUp/PreDown/PostDown commands unless an administrator
// opted in, and the store that keeps imported configurations encrypted with
// DPAPI in a directory only SYSTEM and Administrators can read.
//
// The logic that needs no Windows API (argument parsing, tunnel and service
// names, the hook policy, the store's file layout over an injected cipher)
// is platform-neutral and tested everywhere; the service manager, DPAPI and
// ACL calls live in _windows.go files and are tested under wine where wine
// can run them. On other systems the commands say they are Windows-only.
//
// It imports internal/conf (one config parser for all) and internal/uapi
// (names); it never imports the engine: the data plane plugs in through
// Tunnel, which cmd/warren supplies.
package winsvc
