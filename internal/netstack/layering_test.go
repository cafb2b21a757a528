package netstack

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/warren-vpn/warren"

// TestLayering checks that the userspace stack stays out of what does not
// need it: the wg command set, the kernel-TUN daemon, the engine and the
// control protocol never link gvisor.dev/gvisor, and netstack itself uses
// nothing of ours but the tun seam (and what it links).
func TestLayering(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	free := []string{"internal/wgcmd", "internal/daemon", "internal/device", "internal/uapi", "internal/conf", "internal/quick"}
	for _, goos := range []string{"linux", "windows", "darwin"} {
		args := []string{"list", "-f", `{{.ImportPath}} {{join .Deps " "}}`}
		for _, p := range append(free, "internal/netstack") {
			args = append(args, module+"/"+p)
		}
		cmd := exec.Command("go", args...)
		cmd.Env = append(cmd.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("GOOS=%s go list: %v", goos, err)
		}
		seen := 0
		for line := range strings.Lines(string(out)) {
			fields := strings.Fields(line)
			if len(fields) == 0 {
				continue
			}
			name, deps := strings.TrimPrefix(fields[0], module+"/"), fields[1:]
			seen++
			if name == "internal/netstack" {
				for _, d := range deps {
					// tun, and what tun links (winacl: the Windows TUN checks
					// who may change wintun.dll).
					if strings.HasPrefix(d, module+"/") && d != module+"/internal/tun" && d != module+"/internal/winacl" {
						t.Errorf("GOOS=%s: netstack links %s", goos, d)
					}
				}
				continue
			}
			for _, d := range deps {
				if strings.HasPrefix(d, "gvisor.dev/") {
					t.Errorf("GOOS=%s: %s links %s", goos, name, d)
					break
				}
			}
		}
		if seen != len(free)+1 {
			t.Errorf("GOOS=%s: go list reported %d packages, want %d", goos, seen, len(free)+1)
		}
	}
}
