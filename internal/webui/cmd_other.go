//go:build !windows

package webui

// What `warren manager --help` says of this platform.
const (
	platformAbout = "the wg-quick configurations in --config-dir, brought up and down\nas `warren up` and `warren down` do,"
	privileged    = "root"
	platformUsage = `
It runs as root (dist/warren-manager.service).
`
)
