package winsvc

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/warren-vpn/warren/internal/ringlog"
)

// Each tunnel service writes its log to a ring log (internal/ringlog),
// NAME.bin in the log folder (Windows: %ProgramFiles%\warren\Data\Logs,
// readable by SYSTEM and Administrators only), which `warren log NAME`
// prints and follows. A line's tag says where it came from.
const (
	// LogTagService marks the service's own messages: starting, stopping
	// and why it failed.
	LogTagService = "SVC"
	// LogTagTunnel marks the engine's log and the hooks' output.
	LogTagTunnel = "TUN"
	// LogTagError marks the engine's errors.
	LogTagError = "ERR"
	// LogTagWarning marks non-fatal remarks: a default route the socket
	// could not be pinned to, an interface watcher's error.
	LogTagWarning = "WARN"
)

// LogExt is the extension of a tunnel's log file.
const LogExt = ".bin"

// printLog writes every line r has to w, one per line; with follow it
// then polls every poll (ringlog.DefaultPoll if zero) and writes new lines
// as they come, until ctx is done, which is not an error.
func printLog(ctx context.Context, r *ringlog.Reader, follow bool, poll time.Duration, w io.Writer) error {
	emit := func(l ringlog.Line) error {
		_, err := fmt.Fprintln(w, l)
		return err
	}
	if follow {
		return ringlog.Follow(ctx, r, poll, emit)
	}
	lines, err := r.Next()
	if err != nil {
		return err
	}
	for _, l := range lines {
		if err := emit(l); err != nil {
			return err
		}
	}
	return nil
}

// logDetail is the kind of the service's messages that belong in the
// tunnel's ring log only, never in the event log: goroutine stacks, whose
// argument words may hold key bytes. The ring log is readable by SYSTEM
// and the Administrators alone; the Application event log, by every
// interactive user.
const logDetail = "detail"

// logRoute says where a service message of kind ("info", "error" or
// logDetail) goes, given whether the tunnel's ring log is open: the ring
// log when it is; the event log for errors, and for everything but
// details when there is no ring log.
func logRoute(kind string, haveRing bool) (ring, event bool) {
	if kind == logDetail {
		return haveRing, false
	}
	return haveRing, kind == "error" || !haveRing
}
