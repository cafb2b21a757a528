package daemon

import (
	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/ringlog"
)

// envLogFile names a ring log (internal/ringlog) the running device also
// writes its log to. A device in the background has nowhere else to
// write (its output is /dev/null unless LOG_LEVEL is set): `warren up`
// sets this to /run/warren/log/IFACE.log, where `warren manager` reads it.
const envLogFile = "WARREN_LOG_FILE"

// The ring log's tags, as the Windows tunnel service's (winsvc.LogTag...).
const (
	logTagTunnel = "TUN"
	logTagError  = "ERR"
)

// withRingLog returns a logger writing both to base and to rl: verbose
// lines under TUN and errors under ERR. The ring keeps verbose lines
// unless LOG_LEVEL is set (explicit is the level given): it is bounded,
// and the handshakes it shows are what its reader is looking for.
func withRingLog(base *device.Logger, rl *ringlog.Log, level string, explicit bool) *device.Logger {
	if !explicit {
		level = device.LogLevelVerbose
	}
	both := func(a, b func(string, ...any)) func(string, ...any) {
		return func(format string, args ...any) {
			a(format, args...)
			b(format, args...)
		}
	}
	out := &device.Logger{Verbosef: base.Verbosef, Errorf: base.Errorf}
	switch level {
	case device.LogLevelVerbose:
		out.Verbosef = both(out.Verbosef, rl.Printf(logTagTunnel))
		out.Errorf = both(out.Errorf, rl.Printf(logTagError))
	case device.LogLevelError:
		out.Errorf = both(out.Errorf, rl.Printf(logTagError))
	}
	return out
}
