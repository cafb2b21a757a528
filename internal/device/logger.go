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

// NewLogger returns a Logger writing to stderr at level "verbose", "error"
// or "silent" (anything else is silent), each line starting with prefix.
func NewLogger(level string, prefix string) *Logger {
	l := &Logger{Verbosef: discard, Errorf: discard}
	out := log.New(os.Stderr, prefix, log.Ldate|log.Ltime)
	switch level {
	case LogLevelVerbose:
		l.Verbosef = func(f string, a ...any) { out.Printf("DEBUG: "+f, a...) }
		l.Errorf = func(f string, a ...any) { out.Printf("ERROR: "+f, a...) }
	case LogLevelError:
		l.Errorf = func(f string, a ...any) { out.Printf("ERROR: "+f, a...) }
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
