//go:build windows

package wintunnel

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// hooks runs each command with cmd.exe, as WireGuard for Windows does,
// with WIREGUARD_TUNNEL_NAME set to the tunnel's name. The first failure
// stops the rest.
func (s *ServiceTunnel) hooks(stage string, cmds []string) error {
	for _, c := range cmds {
		cmd := exec.Command("cmd.exe", "/C", c)
		cmd.Env = append(os.Environ(), "WIREGUARD_TUNNEL_NAME="+s.name)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("tunnel %s: %s command failed: %w: %s", s.name, stage, err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}
