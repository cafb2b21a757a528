package quick

import "path/filepath"

// DaemonLogDir holds the logs of the userspace devices up starts, one ring
// log (internal/ringlog) per interface, DaemonLogPath(iface): the device
// runs in the background with no output of its own, and `warren manager`
// shows and follows these. On a tmpfs (/run) they last until reboot; a
// device started again continues its file.
const DaemonLogDir = "/run/warren/log"

// DaemonLogPath is the log file of iface's userspace device.
func DaemonLogPath(iface string) string { return filepath.Join(DaemonLogDir, iface+".log") }
