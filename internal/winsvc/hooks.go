package winsvc

import (
	"errors"
	"fmt"
	"strings"

	"github.com/warren-vpn/warren/internal/conf"
)

// AllowScriptsFlag, given at install, lets that one tunnel service run its
// configuration's PreUp/PostUp/PreDown/PostDown commands.
const AllowScriptsFlag = "--allow-scripts"

// AllowScriptsRegistryKey and AllowScriptsRegistryValue are the machine-wide
// opt-in: a DWORD 1 there lets every tunnel service run its commands.
const (
	AllowScriptsRegistryKey   = `SOFTWARE\warren`
	AllowScriptsRegistryValue = "AllowScripts"
)

// ErrScriptsRefused: the configuration has hook commands and no
// administrator opted in to running them.
var ErrScriptsRefused = errors.New("hook commands refused")

// Hooks names the hook keys a configuration uses, in the order they run.
func Hooks(f *conf.File) []string {
	var keys []string
	for _, h := range []struct {
		key  string
		cmds []string
	}{
		{"PreUp", f.Interface.PreUp},
		{"PostUp", f.Interface.PostUp},
		{"PreDown", f.Interface.PreDown},
		{"PostDown", f.Interface.PostDown},
	} {
		if len(h.cmds) > 0 {
			keys = append(keys, h.key)
		}
	}
	return keys
}

// CheckHooks refuses a configuration with hook commands unless allowed
// (the admin's opt-in, by AllowScriptsFlag at install or the registry
// value). The error says why (the service would run them as SYSTEM) and
// how to opt in.
func CheckHooks(tunnel string, f *conf.File, allowed bool) error {
	keys := Hooks(f)
	if len(keys) == 0 || allowed {
		return nil
	}
	return fmt.Errorf("tunnel %s: %w: its configuration has %s, which the tunnel service would run as SYSTEM "+
		"with full control of this machine. If you trust them, install with `warren service install %s %s.conf`, "+
		"or allow them for every tunnel by setting the DWORD HKLM\\%s\\%s to 1 (as an administrator); "+
		"otherwise remove them from the configuration",
		tunnel, ErrScriptsRefused, strings.Join(keys, ", "), AllowScriptsFlag, tunnel, AllowScriptsRegistryKey, AllowScriptsRegistryValue)
}
