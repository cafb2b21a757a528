// Package safedir creates and checks the directories warren keeps private
// state and control sockets in (wg-quick's state under /run/warren, the DNS
// backup under /var/lib/warren, UAPI sockets under /var/run/wireguard or
// $XDG_RUNTIME_DIR/warren), and opens files in them without following
// symbolic links.
//
// A process running as root that reuses a directory somebody else could
// write to, or that follows a symlink planted in one, can be made to read
// forged state or to write keys over any file. Ensure refuses such a
// directory with an error that says what is wrong and how to fix it.
//
// It imports only the standard library and golang.org/x/sys/unix; on
// Windows (where warren's state lives behind DACLs, see internal/winsvc)
// the package is empty.
package safedir
