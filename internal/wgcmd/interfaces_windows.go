package wgcmd

import (
	"slices"

	"github.com/warren-vpn/warren/internal/uapi"
)

// Interfaces lists the interfaces served on named pipes in every directory's
// pipe namespace (uapi.PipePrefix: the default directory means
// \\.\pipe\ProtectedPrefix\Administrators\WireGuard), sorted, each once.
func (u uapiDevices) Interfaces() ([]string, error) {
	var all []string
	for _, dir := range u.dirs {
		names, err := uapi.Interfaces(dir)
		if err != nil {
			return nil, err
		}
		all = append(all, names...)
	}
	slices.Sort(all)
	return slices.Compact(all), nil
}
