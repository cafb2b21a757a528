package winsvc

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/warren-vpn/warren/internal/uapi"
)

// ServicePrefix begins the Windows service name of every tunnel: tunnel
// wg0 runs as service WarrenTunnel$wg0.
const ServicePrefix = "WarrenTunnel$"

// ConfExt ends the name of a configuration file that can be imported.
const ConfExt = ".conf"

// ErrInvalidName: a tunnel name that cannot name a service, a file, an
// adapter and a pipe at once.
var ErrInvalidName = errors.New("invalid tunnel name")

// ValidTunnelName checks a tunnel name: a valid interface name (uapi's
// rules: 1 to 15 bytes) made of letters, digits and _=+.- only, so that it
// is safe as a file name, a service name and a pipe name on Windows, and
// not a name Windows reserves for a device (CON, NUL, COM1, ...).
func ValidTunnelName(name string) error {
	if err := uapi.ValidName(name); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidName, err)
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("_=+.-", r)) {
			return fmt.Errorf("%w: %q may hold only letters, digits and _=+.-", ErrInvalidName, name)
		}
	}
	if isReservedDOSName(name) {
		return fmt.Errorf("%w: %q is a device name Windows reserves", ErrInvalidName, name)
	}
	return nil
}

// isReservedDOSName reports names Windows maps to devices, with or without
// an extension: CON, PRN, AUX, NUL, COM1-9, LPT1-9.
func isReservedDOSName(name string) bool {
	base, _, _ := strings.Cut(strings.ToUpper(name), ".")
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) && base[3] >= '1' && base[3] <= '9' {
		return true
	}
	return false
}

// ServiceName is the Windows service that runs tunnel name.
func ServiceName(tunnel string) string { return ServicePrefix + tunnel }

// TunnelName returns the tunnel that a service runs, if it is a tunnel
// service (its name is ServicePrefix and a valid tunnel name).
func TunnelName(service string) (string, bool) {
	if len(service) < len(ServicePrefix) || !strings.EqualFold(service[:len(ServicePrefix)], ServicePrefix) {
		return "", false
	}
	name := service[len(ServicePrefix):]
	if ValidTunnelName(name) != nil {
		return "", false
	}
	return name, true
}

// TunnelNameFromPath is the tunnel a configuration file defines: its base
// name less ".conf", as for wg-quick and WireGuard for Windows.
func TunnelNameFromPath(path string) (string, error) {
	base := filepath.Base(strings.ReplaceAll(path, `\`, "/"))
	if len(base) <= len(ConfExt) || !strings.EqualFold(base[len(base)-len(ConfExt):], ConfExt) {
		return "", fmt.Errorf("%w: %q: a configuration file's name must be NAME%s", ErrInvalidName, path, ConfExt)
	}
	name := base[:len(base)-len(ConfExt)]
	if err := ValidTunnelName(name); err != nil {
		return "", err
	}
	return name, nil
}
