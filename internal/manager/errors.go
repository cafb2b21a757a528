package manager

import (
	"errors"
	"fmt"
)

// Errors the manager returns, matchable with errors.Is.
var (
	// ErrNotFound: no tunnel, peer or token by that name.
	ErrNotFound = errors.New("not found")
	// ErrExists: a tunnel by that name already has a configuration.
	ErrExists = errors.New("already exists")
	// ErrReadOnly: the interface runs but no configuration file backs it
	// (started by hand or by another tool), so the manager only shows it.
	ErrReadOnly = errors.New("no configuration file backs it")
	// ErrBadName: not a name a tunnel can have.
	ErrBadName = errors.New("invalid tunnel name")
	// ErrInvalid: a configuration did not validate; see *ConfigError.
	ErrInvalid = errors.New("invalid configuration")
	// ErrHooks: the configuration adds or changes PreUp/PostUp/PreDown/
	// PostDown commands, which the manager does not write unless it was
	// started to allow them (Options.AllowHooks).
	ErrHooks = errors.New("hook commands not allowed")
	// ErrBusy: another activation, deactivation or edit of the same tunnel
	// is under way.
	ErrBusy = errors.New("busy")
	// ErrActivate: bringing the tunnel up or down failed; the error holds
	// what the tool said.
	ErrActivate = errors.New("activation failed")
	// ErrNoLog: the tunnel has no log (it was not started by warren up).
	ErrNoLog = errors.New("no log")
	// ErrNotSupported: this platform's backend cannot do it yet.
	ErrNotSupported = errors.New("not supported on this platform yet")
	// ErrPassword: the password is wrong, or a new one is unacceptable.
	ErrPassword = errors.New("password refused")
	// ErrSetup: the setup link is wrong, or setup is already done.
	ErrSetup = errors.New("setup link invalid or already used")
)

// ConfigError is a configuration that did not validate: Line is the line
// the problem is on (0 when it concerns the whole file), Msg says what it
// is without repeating the file's secrets. It matches ErrInvalid.
type ConfigError struct {
	Line int
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// Is makes a *ConfigError match ErrInvalid.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalid }
