package device

import (
	"log"
	"os"
)

// Logger receives the device's log lines. Either function may be nil-free
// no-ops; NewLogger builds one. Lines never contain private or preshared
// keys.
type Logger struct {
	Verbosef func(format string, args ...any)
	Errorf   func(format string, args ...any)
}

// Log levels accepted by NewLogger.
const (
	LogLevelVerbose = "verbose"
	LogLevelError   = "error"
	LogLevelSilent  = "silent"
)

func discard(string, ...any) {}

// NewLogger returns a Logger writing to standard output at level "verbose",
// "error" or "silent" (anything else is silent), in wireguard-go's format
// so that scripts reading its logs keep working:
// "DEBUG: (wg0) 2006/01/02 15:04:05 message".
func NewLogger(level string, prefix string) *Logger {
	l := &Logger{Verbosef: discard, Errorf: discard}
	logf := func(tag string) func(string, ...any) {
		return log.New(os.Stdout, tag+": "+prefix, log.Ldate|log.Ltime).Printf
	}
	switch level {
	case LogLevelVerbose:
		l.Verbosef = logf("DEBUG")
		l.Errorf = logf("ERROR")
	case LogLevelError:
		l.Errorf = logf("ERROR")
	}
	return l
}

// orSilent fills nil functions with no-ops.
func (l *Logger) orSilent() *Logger {
	out := &Logger{Verbosef: discard, Errorf: discard}
	if l != nil {
		if l.Verbosef != nil {
			out.Verbosef = l.Verbosef
		}
		if l.Errorf != nil {
			out.Errorf = l.Errorf
		}
	}
	return out
}
