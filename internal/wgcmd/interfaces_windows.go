package wgcmd

import "github.com/warren-vpn/warren/internal/uapi"

// Interfaces lists the interfaces the uapi package finds.
func (u uapiDevices) Interfaces() ([]string, error) { return uapi.Interfaces(u.dir) }
