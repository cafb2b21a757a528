package wgcmd

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/tun"
	"github.com/warren-vpn/warren/internal/uapi"
)

// TestCommandsOverNamedPipe runs the wg command set against a real device
// (in-memory TUN, simulated network: no driver, no UDP) served on a named
// pipe, as `warren show` reaches a tunnel service on Windows.
func TestCommandsOverNamedPipe(t *testing.T) {
	network := netsim.New(netsim.Options{})
	defer network.Close()
	dev, err := device.New(tun.NewMemory("wgpipe0", 1420), network.NewBind(netip.MustParseAddr("192.0.2.1")), device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()

	dir := fmt.Sprintf(`\\.\pipe\warren-test\wgcmd-%d-%d`, os.Getpid(), time.Now().UnixNano())
	l, err := uapi.Listen(dir, "wgpipe0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- uapi.Serve(l, dev, t.Logf) }()
	defer func() {
		l.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	run := func(stdin string, args ...string) (string, string, int) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		e := newEnv("wg", strings.NewReader(stdin), &stdout, &stderr, func(k string) (string, bool) {
			if k == SocketDirEnv {
				return dir, true
			}
			return "", false
		})
		code := e.run(args)
		return stdout.String(), stderr.String(), code
	}

	priv, _, _ := run("", "genkey")
	priv = strings.TrimSpace(priv)
	pub, _, _ := run(priv+"\n", "pubkey")
	pub = strings.TrimSpace(pub)
	peerPriv, _, _ := run("", "genkey")
	peerPub, _, _ := run(peerPriv, "pubkey")
	peerPub = strings.TrimSpace(peerPub)

	keyFile := t.TempDir() + `\key`
	if err := os.WriteFile(keyFile, []byte(priv+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := run("", "set", "wgpipe0", "listen-port", "51820", "private-key", keyFile,
		"peer", peerPub, "allowed-ips", "10.9.0.2/32,fd00::2/128", "endpoint", "192.0.2.2:51820",
		"persistent-keepalive", "25"); code != 0 {
		t.Fatalf("set: exit %d: %s", code, stderr)
	}

	out, stderr, code := run("", "show", "wgpipe0", "public-key")
	if code != 0 || strings.TrimSpace(out) != pub {
		t.Errorf("show public-key: exit %d, %q (stderr %q), want %q", code, out, stderr, pub)
	}
	out, stderr, code = run("", "showconf", "wgpipe0")
	if code != 0 {
		t.Fatalf("showconf: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"ListenPort = 51820", "PrivateKey = " + priv, "PublicKey = " + peerPub,
		"AllowedIPs = 10.9.0.2/32, fd00::2/128", "Endpoint = 192.0.2.2:51820", "PersistentKeepalive = 25"} {
		if !strings.Contains(out, want) {
			t.Errorf("showconf lacks %q:\n%s", want, out)
		}
	}

	// setconf replaces everything: the peer goes.
	conf := t.TempDir() + `\wgpipe0.conf`
	if err := os.WriteFile(conf, []byte("[Interface]\nPrivateKey = "+priv+"\nListenPort = 51821\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := run("", "setconf", "wgpipe0", conf); code != 0 {
		t.Fatalf("setconf: exit %d: %s", code, stderr)
	}
	out, _, _ = run("", "show", "wgpipe0", "peers")
	if strings.TrimSpace(out) != "" {
		t.Errorf("peers after setconf: %q, want none", out)
	}
	out, _, _ = run("", "show", "wgpipe0", "listen-port")
	if strings.TrimSpace(out) != "51821" {
		t.Errorf("listen-port after setconf: %q, want 51821", out)
	}

	if _, stderr, code := run("", "show", "wgnope0"); code != 1 || !strings.Contains(stderr, "No such device") {
		t.Errorf("show of a missing interface: exit %d, stderr %q", code, stderr)
	}
}
