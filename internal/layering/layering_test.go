package layering

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/warren-vpn/warren"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// listPackages runs `go list -deps=false -json` over the module for goos.
func listPackages(t *testing.T, goos string) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", mod+"/...")
	cmd.Env = append(cmd.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list (GOOS=%s): %v", goos, err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, mod+"/")] = p
	}
	return pkgs
}

func ours(deps []string) []string {
	var r []string
	for _, d := range deps {
		if strings.HasPrefix(d, mod+"/") {
			r = append(r, strings.TrimPrefix(d, mod+"/"))
		}
	}
	return r
}

// TestImportRules checks what each layer may import directly.
func TestImportRules(t *testing.T) {
	allowed := map[string][]string{
		"internal/wire":       {},
		"internal/replay":     {},
		"internal/routing":    {},
		"internal/ratelimit":  {},
		"internal/clock":      {},
		"internal/safedir":    {},
		"internal/atomicfile": {},
		"internal/noise":      {"internal/wire"},
		"internal/wgtypes":    {"internal/noise"},
		// winacl: the Windows TUN checks who may change wintun.dll.
		"internal/tun":    {"internal/winacl"},
		"internal/winacl": {},
		"internal/bind":   {},
		"internal/device": {"internal/noise", "internal/wire", "internal/replay", "internal/routing",
			"internal/ratelimit", "internal/clock", "internal/wgtypes", "internal/tun", "internal/bind"},
		"internal/uapi":      {"internal/wgtypes", "internal/noise", "internal/safedir"},
		"internal/conf":      {"internal/wgtypes", "internal/noise"},
		"internal/wgcmd":     {"internal/conf", "internal/uapi", "internal/wgtypes", "internal/noise"},
		"internal/quick":     {"internal/conf", "internal/uapi", "internal/wgtypes", "internal/noise", "internal/safedir", "internal/atomicfile"},
		"internal/netstack":  {"internal/tun"},
		"internal/ringlog":   {},
		"internal/cli":       {},
		"internal/buildinfo": {},
		"internal/history":   {"internal/wgtypes", "internal/noise"},
		"internal/metrics":   {"internal/wgtypes", "internal/noise", "internal/conf"},
		// The manager drives devices as the tools do (UAPI, quick's files,
		// winnet's conflict plan, on Windows the tunnel services and the
		// DPAPI store through winsvc, as `warren service` does) and keeps
		// history; the web UI sees only the manager and the value types it
		// hands out.
		"internal/manager": {"internal/conf", "internal/uapi", "internal/wgtypes", "internal/noise", "internal/safedir",
			"internal/atomicfile", "internal/ringlog", "internal/winnet", "internal/quick", "internal/history", "internal/winsvc"},
		"internal/manager/managertest": {"internal/manager", "internal/conf", "internal/noise", "internal/ringlog", "internal/wgtypes"},
		"internal/webui":               {"internal/manager", "internal/conf", "internal/noise", "internal/wgtypes", "internal/metrics", "internal/cli"},
		// selftest drives a whole tunnel: an engine, a userspace peer and,
		// on Windows, the tunnel's network plan.
		"internal/selftest": {"internal/bind", "internal/buildinfo", "internal/cli", "internal/conf", "internal/device", "internal/noise",
			"internal/peerweb", "internal/proxy", "internal/tun", "internal/wgtypes", "internal/winnet", "internal/wintunnel"},
		// peerweb: the web server of demo's and selftest's in-process
		// peers, on the standard library alone.
		"internal/peerweb": {},
	}
	for _, goos := range []string{"linux", "windows", "darwin"} {
		pkgs := listPackages(t, goos)
		for name, want := range allowed {
			p, ok := pkgs[name]
			if !ok {
				t.Errorf("GOOS=%s: package %s not found", goos, name)
				continue
			}
			ok2 := map[string]bool{}
			for _, w := range want {
				ok2[w] = true
			}
			for _, imp := range ours(p.Imports) {
				if !ok2[imp] {
					t.Errorf("GOOS=%s: %s imports %s, which its layer may not", goos, name, imp)
				}
			}
		}
	}
}

// TestLinkRules checks what binaries and tools link transitively.
func TestLinkRules(t *testing.T) {
	for _, goos := range []string{"linux", "windows", "darwin"} {
		pkgs := listPackages(t, goos)
		for name, p := range pkgs {
			if name == "internal/netsim/wgref" {
				continue
			}
			for _, d := range p.Imports {
				if strings.HasPrefix(d, "golang.zx2c4.com/wireguard") && !strings.HasPrefix(d, "golang.zx2c4.com/wireguard/windows") {
					t.Errorf("GOOS=%s: %s imports the reference implementation %s outside tests", goos, name, d)
				}
			}
		}
		// The tools that only talk UAPI never link the engine, and only the
		// rootless commands link the userspace TCP/IP stack.
		for _, tool := range []string{"internal/wgcmd", "internal/quick"} {
			if p, ok := pkgs[tool]; ok {
				for _, d := range ours(p.Deps) {
					if d == "internal/device" {
						t.Errorf("GOOS=%s: %s links the engine", goos, tool)
					}
				}
			}
		}
		for _, name := range []string{"internal/wgcmd", "internal/quick", "internal/daemon", "internal/device"} {
			if p, ok := pkgs[name]; ok {
				for _, d := range p.Deps {
					if strings.HasPrefix(d, "gvisor.dev/") || d == mod+"/internal/netstack" {
						t.Errorf("GOOS=%s: %s links the userspace stack (%s)", goos, name, d)
						break
					}
				}
			}
		}
		// The manager's history and metrics stay out of the engine, the wg
		// commands and the daemon; metrics links neither the engine nor
		// the userspace stack.
		for _, name := range []string{"internal/device", "internal/uapi", "internal/wgcmd", "internal/quick", "internal/daemon"} {
			if p, ok := pkgs[name]; ok {
				for _, d := range ours(p.Deps) {
					if d == "internal/history" || d == "internal/metrics" {
						t.Errorf("GOOS=%s: %s links %s", goos, name, d)
					}
				}
			}
		}
		if p, ok := pkgs["internal/metrics"]; ok {
			for _, d := range p.Deps {
				if d == mod+"/internal/device" || d == mod+"/internal/netstack" || strings.HasPrefix(d, "gvisor.dev/") {
					t.Errorf("GOOS=%s: internal/metrics links %s", goos, d)
				}
			}
		}
		// Nothing below the manager knows it: the engine, the wg commands,
		// wg-quick's commands and the daemon never link the manager or
		// the web UI. The manager knows no HTTP and links no engine; the
		// web UI touches no OS (no netlink, no x/sys, no processes).
		for name, p := range pkgs {
			if name == "cmd/warren" || strings.HasPrefix(name, "internal/manager") || name == "internal/webui" || name == "internal/layering" {
				continue
			}
			for _, d := range ours(p.Deps) {
				if d == "internal/manager" || d == "internal/webui" {
					t.Errorf("GOOS=%s: %s links %s", goos, name, d)
				}
			}
		}
		if p, ok := pkgs["internal/manager"]; ok {
			for _, d := range p.Imports {
				if strings.HasPrefix(d, "net/http") || d == "html/template" {
					t.Errorf("GOOS=%s: internal/manager imports %s: it knows nothing of HTTP", goos, d)
				}
			}
			for _, d := range ours(p.Deps) {
				if d == "internal/device" || d == "internal/netstack" || d == "internal/webui" {
					t.Errorf("GOOS=%s: internal/manager links %s", goos, d)
				}
			}
		}
		if p, ok := pkgs["internal/webui"]; ok {
			for _, d := range p.Imports {
				if strings.HasPrefix(d, "golang.org/x/sys/") || strings.HasPrefix(d, "github.com/vishvananda/") || d == "os/exec" ||
					d == "golang.zx2c4.com/wintun" || strings.HasPrefix(d, "github.com/Microsoft/") {
					t.Errorf("GOOS=%s: internal/webui imports %s: it touches no OS, the manager does", goos, d)
				}
			}
			for _, d := range ours(p.Deps) {
				if d == "internal/device" || d == "internal/netstack" {
					t.Errorf("GOOS=%s: internal/webui links %s", goos, d)
				}
			}
		}
		if p, ok := pkgs["cmd/warren"]; ok {
			for _, d := range p.Deps {
				if strings.HasPrefix(d, mod+"/internal/netsim") {
					t.Errorf("GOOS=%s: cmd/warren links the test network %s", goos, d)
				}
			}
		}
	}
}
