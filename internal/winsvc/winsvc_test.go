package winsvc

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/conf"
)

func TestValidTunnelName(t *testing.T) {
	for _, name := range []string{"wg0", "office-vpn", "a", "A_b=c+d.e", "fifteen-chars-x"} {
		if err := ValidTunnelName(name); err != nil {
			t.Errorf("ValidTunnelName(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range []string{"", "sixteen-chars-xx", "a b", `a\b`, "a/b", "a:b", "..", "é", "a$b", "CON", "nul", "Com1", "LPT9.x", "aux.conf"} {
		if err := ValidTunnelName(name); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidTunnelName(%q) = %v, want ErrInvalidName", name, err)
		}
	}
	for _, name := range []string{"COM0", "CONSOLE", "LPT10"} {
		if err := ValidTunnelName(name); err != nil {
			t.Errorf("ValidTunnelName(%q) = %v: not a reserved name", name, err)
		}
	}
}

func TestServiceNames(t *testing.T) {
	if got := ServiceName("wg0"); got != "WarrenTunnel$wg0" {
		t.Errorf("ServiceName = %q", got)
	}
	for _, tt := range []struct {
		service, tunnel string
		ok              bool
	}{
		{"WarrenTunnel$wg0", "wg0", true},
		{"warrentunnel$wg0", "wg0", true},
		{"WarrenTunnel$", "", false},
		{"WarrenTunnel$CON", "", false},
		{"WireGuardTunnel$wg0", "", false},
		{"Dhcp", "", false},
	} {
		name, ok := TunnelName(tt.service)
		if name != tt.tunnel || ok != tt.ok {
			t.Errorf("TunnelName(%q) = %q, %v; want %q, %v", tt.service, name, ok, tt.tunnel, tt.ok)
		}
	}
}

func TestTunnelNameFromPath(t *testing.T) {
	for _, tt := range []struct{ path, want string }{
		{"wg0.conf", "wg0"},
		{`C:\Users\me\Downloads\office.CONF`, "office"},
		{"/etc/wireguard/home.conf", "home"},
	} {
		if got, err := TunnelNameFromPath(tt.path); got != tt.want || err != nil {
			t.Errorf("TunnelNameFromPath(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
		}
	}
	for _, path := range []string{"wg0", ".conf", "wg0.conf.txt", "a b.conf", "con.conf", `x\sixteen-chars-xx.conf`} {
		if _, err := TunnelNameFromPath(path); !errors.Is(err, ErrInvalidName) {
			t.Errorf("TunnelNameFromPath(%q) = %v, want ErrInvalidName", path, err)
		}
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args []string
		want Command
	}{
		{[]string{"service", "install", `C:\x\wg0.conf`}, Command{Op: OpInstall, Path: `C:\x\wg0.conf`, Tunnel: "wg0"}},
		{[]string{"service", "install", "--allow-scripts", "wg0.conf"}, Command{Op: OpInstall, Path: "wg0.conf", Tunnel: "wg0", AllowScripts: true}},
		{[]string{"service", "uninstall", "wg0"}, Command{Op: OpUninstall, Tunnel: "wg0"}},
		{[]string{"service", "list"}, Command{Op: OpList}},
		{[]string{"service", "run", "wg0"}, Command{Op: OpRun, Tunnel: "wg0"}},
		{[]string{"service", "run", "--allow-scripts", "wg0"}, Command{Op: OpRun, Tunnel: "wg0", AllowScripts: true}},
		{[]string{"import", "office.conf"}, Command{Op: OpImport, Path: "office.conf", Tunnel: "office"}},
		{[]string{"export", "office"}, Command{Op: OpExport, Tunnel: "office"}},
	}
	for _, tt := range tests {
		got, err := ParseArgs(tt.args)
		if err != nil || got != tt.want {
			t.Errorf("ParseArgs(%q) = %+v, %v; want %+v", tt.args, got, err, tt.want)
		}
	}
	bad := []struct {
		args []string
		want error
	}{
		{nil, ErrUsage},
		{[]string{"service"}, ErrUsage},
		{[]string{"service", "start", "wg0"}, ErrUsage},
		{[]string{"service", "install"}, ErrUsage},
		{[]string{"service", "install", "a.conf", "b.conf"}, ErrUsage},
		{[]string{"service", "uninstall", "--allow-scripts", "wg0"}, ErrUsage},
		{[]string{"service", "list", "x"}, ErrUsage},
		{[]string{"import"}, ErrUsage},
		{[]string{"export", "a", "b"}, ErrUsage},
		{[]string{"service", "install", "wg0.txt"}, ErrInvalidName},
		{[]string{"export", "CON"}, ErrInvalidName},
		{[]string{"show"}, ErrUsage},
	}
	for _, tt := range bad {
		if _, err := ParseArgs(tt.args); !errors.Is(err, tt.want) {
			t.Errorf("ParseArgs(%q) = %v, want %v", tt.args, err, tt.want)
		}
	}
}

// The service's own command line parses back to what install meant.
func TestServiceArgsRoundTrip(t *testing.T) {
	for _, allow := range []bool{false, true} {
		cmd, err := ParseArgs(ServiceArgs("wg0", allow))
		if err != nil || cmd != (Command{Op: OpRun, Tunnel: "wg0", AllowScripts: allow}) {
			t.Errorf("allow=%v: %+v, %v", allow, cmd, err)
		}
	}
}

func FuzzParseArgs(f *testing.F) {
	f.Add("service\x00install\x00wg0.conf")
	f.Add("service\x00run\x00--allow-scripts\x00wg0")
	f.Add("export\x00CON")
	f.Add("service\x00uninstall\x00--all")
	f.Fuzz(func(t *testing.T, s string) {
		cmd, err := ParseArgs(strings.Split(s, "\x00"))
		if err != nil {
			return
		}
		if cmd.Op != OpList && !cmd.All {
			if err := ValidTunnelName(cmd.Tunnel); err != nil {
				t.Fatalf("accepted %q with tunnel %q: %v", s, cmd.Tunnel, err)
			}
		}
		if cmd.Op == OpRun {
			back, err := ParseArgs(ServiceArgs(cmd.Tunnel, cmd.AllowScripts))
			if err != nil || back != cmd {
				t.Fatalf("service args of %+v parse to %+v, %v", cmd, back, err)
			}
		}
	})
}

func mustParse(t *testing.T, text string) *conf.File {
	t.Helper()
	f, err := ParseConfig("test.conf", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

const (
	testKey  = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
	testPeer = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
)

func TestCheckHooks(t *testing.T) {
	plain := mustParse(t, "[Interface]\nPrivateKey = "+testKey+"\nAddress = 10.0.0.1/24\n")
	hooked := mustParse(t, "[Interface]\nPrivateKey = "+testKey+"\nPostUp = echo up\nPreDown = echo down\n")
	if err := CheckHooks("wg0", plain, false); err != nil {
		t.Errorf("no hooks: %v", err)
	}
	if err := CheckHooks("wg0", hooked, true); err != nil {
		t.Errorf("hooks allowed: %v", err)
	}
	err := CheckHooks("wg0", hooked, false)
	if !errors.Is(err, ErrScriptsRefused) {
		t.Fatalf("hooks not allowed: %v, want ErrScriptsRefused", err)
	}
	msg := err.Error()
	for _, want := range []string{"PostUp, PreDown", "as SYSTEM", "warren service install --allow-scripts wg0.conf", `HKLM\SOFTWARE\warren\AllowScripts`} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
	if got := Hooks(hooked); !slices.Equal(got, []string{"PostUp", "PreDown"}) {
		t.Errorf("Hooks = %q", got)
	}
}

func TestConflicts(t *testing.T) {
	full := mustParse(t, "[Interface]\nPrivateKey = "+testKey+"\n[Peer]\nPublicKey = "+testPeer+"\nAllowedIPs = 0.0.0.0/0, ::/0\n")
	v6only := mustParse(t, "[Interface]\nPrivateKey = "+testKey+"\n[Peer]\nPublicKey = "+testPeer+"\nAllowedIPs = ::/0\n")
	office := mustParse(t, "[Interface]\nPrivateKey = "+testKey+"\n[Peer]\nPublicKey = "+testPeer+"\nAllowedIPs = 10.1.0.0/16\n")
	lab := mustParse(t, "[Interface]\nPrivateKey = "+testKey+"\n[Peer]\nPublicKey = "+testPeer+"\nAllowedIPs = 10.1.2.0/24\n")
	home := mustParse(t, "[Interface]\nPrivateKey = "+testKey+"\n[Peer]\nPublicKey = "+testPeer+"\nAllowedIPs = 192.168.7.0/24\n")

	got := Conflicts("vpn", full, map[string]*conf.File{"v6": v6only, "home": home})
	want := []string{
		"tunnels vpn and v6 both claim the IPv6 default route (AllowedIPs ::/0); only one of them can carry that traffic",
		"tunnel vpn's kill switch blocks traffic through tunnel home's adapter",
		"tunnel vpn's kill switch blocks traffic through tunnel v6's adapter",
		"tunnel v6's kill switch blocks traffic through tunnel vpn's adapter",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Conflicts = %q, want %q", got, want)
	}
	got = Conflicts("lab", lab, map[string]*conf.File{"office": office, "home": home})
	if want := []string{"tunnel lab's AllowedIPs 10.1.2.0/24 overlaps tunnel office's 10.1.0.0/16; the longer prefix wins, equal ones are ambiguous"}; !slices.Equal(got, want) {
		t.Errorf("Conflicts = %q, want %q", got, want)
	}
	if got := Conflicts("home", home, map[string]*conf.File{"office": office}); len(got) != 0 {
		t.Errorf("disjoint tunnels: %q", got)
	}
	// Only warnings that involve the tunnel being installed.
	if got := Conflicts("home", home, map[string]*conf.File{"office": office, "lab": lab}); len(got) != 0 {
		t.Errorf("office and lab overlap, home is not involved: %q", got)
	}
}

// xorCipher stands in for DPAPI where there is none: it binds the name
// and scrambles the bytes, which is all the store's logic needs.
type xorCipher struct{}

func (xorCipher) Seal(name string, plain []byte) ([]byte, error) {
	out := append([]byte(name+"\x00"), plain...)
	for i := len(name) + 1; i < len(out); i++ {
		out[i] ^= 0x5a
	}
	return out, nil
}

func (xorCipher) Open(name string, sealed []byte) ([]byte, error) {
	got, rest, ok := bytes.Cut(sealed, []byte{0})
	if !ok || string(got) != name {
		return nil, fmt.Errorf("sealed for %q, not %q", got, name)
	}
	out := bytes.Clone(rest)
	for i := range out {
		out[i] ^= 0x5a
	}
	return out, nil
}

// testStore runs the store's contract against a cipher.
func testStore(t *testing.T, st *Store) {
	t.Helper()
	if names, err := st.List(); err != nil || len(names) != 0 {
		t.Fatalf("empty store lists %q, %v", names, err)
	}
	text := []byte("[Interface]\nPrivateKey = " + testKey + "\nAddress = 10.0.0.1/24\n")
	if err := st.Save("wg0", text); err != nil {
		t.Fatal(err)
	}
	if err := st.Save("office", []byte("old")); err != nil {
		t.Fatal(err)
	}
	if err := st.Save("office", []byte("new")); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(st.Dir, "wg0"+StoreExt))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(testKey)) {
		t.Error("the stored file holds the private key in clear")
	}
	got, err := st.Load("wg0")
	if err != nil || !bytes.Equal(got, text) {
		t.Errorf("Load = %q, %v; want %q", got, err, text)
	}
	if got, err := st.Load("office"); err != nil || string(got) != "new" {
		t.Errorf("Load after replace = %q, %v", got, err)
	}
	if names, err := st.List(); err != nil || !slices.Equal(names, []string{"office", "wg0"}) {
		t.Errorf("List = %q, %v", names, err)
	}
	// A file renamed to another tunnel's name does not open.
	if err := os.Rename(st.Path("office"), st.Path("stolen")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load("stolen"); err == nil {
		t.Error("a renamed file opened under its new name")
	}
	if err := st.Delete("stolen"); err != nil {
		t.Error(err)
	}
	if _, err := st.Load("office"); !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing tunnel = %v, want ErrNotFound", err)
	}
	if err := st.Delete("office"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete of a missing tunnel = %v, want ErrNotFound", err)
	}
	if err := st.Save("../evil", text); !errors.Is(err, ErrInvalidName) {
		t.Errorf("Save of a bad name = %v, want ErrInvalidName", err)
	}
	ents, _ := os.ReadDir(st.Dir)
	if len(ents) != 1 {
		t.Errorf("store holds %d files, want 1 (temporary files left behind?)", len(ents))
	}
}

func TestStoreLayout(t *testing.T) {
	testStore(t, &Store{Dir: t.TempDir(), Cipher: xorCipher{}})
}
