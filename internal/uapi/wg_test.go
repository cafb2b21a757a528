//go:build linux

package uapi

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// memHandler is a small in-memory device: Apply edits a Device the way
// wireguard-go would (see applyToDevice), unless err is set.
type memHandler struct {
	mu  sync.Mutex
	dev wgtypes.Device
	err error
}

func (h *memHandler) Apply(cfg *wgtypes.Config) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return h.err
	}
	applyToDevice(&h.dev, cfg)
	return nil
}

func (h *memHandler) State() *wgtypes.Device {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.dev
	d.Peers = nil
	for _, p := range h.dev.Peers {
		p.AllowedIPs = append([]netip.Prefix(nil), p.AllowedIPs...)
		d.Peers = append(d.Peers, p)
	}
	return &d
}

func (h *memHandler) setErr(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.err = err
}

// TestDebianWG drives the server with wireguard-tools' wg, as a user would.
// It needs root (for /var/run/wireguard) and wg in PATH.
func TestDebianWG(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for " + DefaultSocketDir)
	}
	wgPath, err := exec.LookPath("wg")
	if err != nil {
		t.Skip("wg not installed (apt-get install wireguard-tools)")
	}
	name := fmt.Sprintf("wutest%d", os.Getpid()%100000)
	h := &memHandler{}
	serveTest(t, DefaultSocketDir, name, h)
	wg := func(args ...string) (string, error) {
		cmd := exec.Command(wgPath, args...)
		cmd.Env = append(os.Environ(), "WG_HIDE_KEYS=never")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	priv := noise.PrivateKey(testKey(0x40)).Clamped()
	psk := noise.PresharedKey(testKey(0x33))
	dir := t.TempDir()
	for file, key := range map[string]string{"priv": priv.Base64(), "psk": psk.Base64()} {
		if err := os.WriteFile(dir+"/"+file, []byte(key+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	out, err := wg("set", name, "private-key", dir+"/priv", "listen-port", "51999", "fwmark", "0x10",
		"peer", pub1.String(), "preshared-key", dir+"/psk", "endpoint", "[2001:db8::1]:51820",
		"persistent-keepalive", "25", "allowed-ips", "10.0.0.0/8,fd00::/64",
		"peer", pub2.String(), "endpoint", "192.0.2.7:1")
	if err != nil {
		t.Fatalf("wg set: %v\n%s", err, out)
	}
	h.mu.Lock()
	h.dev.Peers[0].RxBytes, h.dev.Peers[0].TxBytes = 1000, 2000
	h.dev.Peers[0].LastHandshakeTime = time.Unix(1700000000, 5)
	h.mu.Unlock()

	out, err = wg("show", name, "dump")
	if err != nil {
		t.Fatalf("wg show dump: %v\n%s", err, out)
	}
	want := strings.Join([]string{
		strings.Join([]string{priv.Base64(), priv.PublicKey().String(), "51999", "0x10"}, "\t"),
		strings.Join([]string{pub1.String(), psk.Base64(), "[2001:db8::1]:51820", "10.0.0.0/8,fd00::/64", "1700000000", "1000", "2000", "25"}, "\t"),
		strings.Join([]string{pub2.String(), "(none)", "192.0.2.7:1", "(none)", "0", "0", "0", "off"}, "\t"),
	}, "\n") + "\n"
	if out != want {
		t.Errorf("wg show dump =\n%s\nwant\n%s", out, want)
	}

	out, err = wg("show", "interfaces")
	if err != nil || !strings.Contains(" "+strings.TrimSpace(out)+" ", " "+name+" ") {
		t.Errorf("wg show interfaces = %q, %v; want it to list %s", out, err, name)
	}

	out, err = wg("set", name, "fwmark", "off", "peer", pub2.String(), "remove")
	if err != nil {
		t.Fatalf("wg set remove: %v\n%s", err, out)
	}
	if st := h.State(); len(st.Peers) != 1 || st.FwMark != 0 {
		t.Errorf("after remove: %+v", st)
	}

	// Errors from Apply reach the user as strerror text.
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("bad: %w", wgtypes.ErrInvalidConfig), "Unable to modify interface: Invalid argument"},
		{fmt.Errorf("bind: %w", wgtypes.ErrPortInUse), "Unable to modify interface: Address already in use"},
		{fmt.Errorf("boom"), "Unable to modify interface: Input/output error"},
	}
	for _, tt := range tests {
		h.setErr(tt.err)
		out, err := wg("set", name, "listen-port", "1")
		if err == nil || !strings.Contains(out, tt.want) {
			t.Errorf("wg set with Apply error %v: %v, %q; want %q", tt.err, err, out, tt.want)
		}
	}
}
