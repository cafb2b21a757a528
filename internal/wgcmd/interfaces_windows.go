package wgcmd

import "github.com/warren-vpn/warren/internal/uapi"

// Interfaces lists the interfaces the uapi package finds in every directory.
func (u uapiDevices) Interfaces() ([]string, error) {
	var all []string
	for _, dir := range u.dirs {
		names, err := uapi.Interfaces(dir)
		if err != nil {
			return nil, err
		}
		all = append(all, names...)
	}
	return all, nil
}
