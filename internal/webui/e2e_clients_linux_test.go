package webui

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/netnstest"
	"github.com/warren-vpn/warren/internal/quick"
)

// TestEndToEndClient runs `warren manager` as root in a network
// namespace with a tunnel that listens, adds a client through the API,
// fetches its configuration through the one-time link, brings it up with
// `warren up` in a second namespace and pings the server through the
// tunnel; disabled, the client no longer gets through, and enabled again
// it does.
func TestEndToEndClient(t *testing.T) {
	skip := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and this test cannot run: %s", why)
		}
		t.Skip(why)
	}
	if os.Geteuid() != 0 {
		skip("needs root for network namespaces and TUN devices")
	}
	for _, tool := range []string{"ip", "ping"} {
		if _, err := exec.LookPath(tool); err != nil {
			skip(tool + " not installed")
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		skip("no /dev/net/tun")
	}
	warren := filepath.Join(t.TempDir(), "warren")
	if b, err := exec.Command("go", "build", "-o", warren, "github.com/warren-vpn/warren/cmd/warren").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	server, client := netnstest.New(t, "mcs"), netnstest.New(t, "mcc")
	id := server[len(server)-6:]
	srvIface, cliIface, veth := "ws"+id, "wc"+id, "cv"+id
	dir := t.TempDir()
	cliConf := filepath.Join(dir, cliIface+".conf")
	t.Cleanup(func() {
		exec.Command("ip", "netns", "exec", client, warren, "down", cliConf).Run()
		for _, ns := range []string{client, server} {
			out, _ := exec.Command("ip", "netns", "pids", ns).Output()
			for _, pid := range strings.Fields(string(out)) {
				if pid != fmt.Sprint(os.Getpid()) {
					exec.Command("kill", "-KILL", pid).Run()
				}
			}
		}
		for _, name := range []string{srvIface, cliIface} {
			for _, f := range []string{"/run/warren/quick/" + name + ".json", "/run/warren/quick/" + name + ".lock", quick.DaemonLogPath(name),
				"/var/run/wireguard/" + name + ".sock"} {
				os.Remove(f)
			}
		}
	})
	netnstest.IP(t, "link", "add", veth+"s", "netns", server, "type", "veth", "peer", "name", veth+"c", "netns", client)
	netnstest.IP(t, "-n", server, "addr", "add", "172.31.0.1/24", "dev", veth+"s")
	netnstest.IP(t, "-n", client, "addr", "add", "172.31.0.2/24", "dev", veth+"c")
	netnstest.IP(t, "-n", server, "link", "set", veth+"s", "up")
	netnstest.IP(t, "-n", client, "link", "set", veth+"c", "up")

	// The manager, in the server's namespace.
	stateDir, confDir := filepath.Join(dir, "state"), filepath.Join(dir, "conf")
	mgr := exec.Command("ip", "netns", "exec", server, warren, "manager", "--listen", "127.0.0.1:0", "--state", stateDir, "--config-dir", confDir)
	stdout, err := mgr.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	mgr.Stderr = os.Stderr
	if err := mgr.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- mgr.Wait() }()
	t.Cleanup(func() {
		mgr.Process.Kill()
		<-exited
	})
	lines := bufio.NewScanner(stdout)
	var base, linkFile string
	serving := regexp.MustCompile(`serving (http://127\.0\.0\.1:\d+) `)
	setupIn := regexp.MustCompile(`setup link is in (\S+) `)
	for (base == "" || linkFile == "") && lines.Scan() {
		if m := serving.FindStringSubmatch(lines.Text()); m != nil {
			base = m[1]
		}
		if m := setupIn.FindStringSubmatch(lines.Text()); m != nil {
			linkFile = m[1]
		}
	}
	if base == "" || linkFile == "" {
		t.Fatalf("the manager did not say where it serves and where the setup link is")
	}
	go io.Copy(io.Discard, stdout)
	link, err := os.ReadFile(linkFile)
	if err != nil {
		t.Fatal(err)
	}

	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			var err error
			netnstest.Run(t, server, func() { c, err = (&net.Dialer{}).DialContext(ctx, network, addr) })
			return c, err
		},
	}}
	var cookie string
	call := func(method, path string, body, out any) (int, http.Header) {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = strings.NewReader(string(b))
		}
		req, _ := http.NewRequest(method, base+path, r)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if cookie != "" {
			req.Header.Set("Cookie", SessionCookie+"="+cookie)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		for _, c := range resp.Cookies() {
			if c.Name == SessionCookie && c.Value != "" {
				cookie = c.Value
			}
		}
		data, _ := io.ReadAll(resp.Body)
		if s, ok := out.(*string); ok {
			*s = string(data)
		} else if out != nil && len(data) > 0 {
			if err := json.Unmarshal(data, out); err != nil {
				t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, data, err)
			}
		}
		return resp.StatusCode, resp.Header
	}
	u, err := url.Parse(strings.TrimSpace(string(link)))
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := call("POST", "/api/setup", map[string]string{"token": u.Query().Get("token"), "password": testPassword}, nil); code != http.StatusNoContent {
		t.Fatalf("setup: %d", code)
	}

	// A server tunnel, up.
	priv, _ := newKey(t)
	srvConf := fmt.Sprintf("[Interface]\nPrivateKey = %s\nListenPort = 51820\nAddress = 10.77.0.1/24, fd77::1/64\n", priv.Base64())
	if code, _ := call("POST", "/api/tunnels", map[string]string{"name": srvIface, "config": srvConf}, nil); code != http.StatusCreated {
		t.Fatalf("import: %d", code)
	}
	var act actionJSON
	if code, _ := call("POST", "/api/tunnels/"+srvIface+"/activate", nil, &act); code != http.StatusOK {
		t.Fatalf("activate: %d %+v", code, act)
	}
	settings := clientSettingsJSON{EndpointHost: "172.31.0.1", AllowedIPs: []string{"10.77.0.0/24", "fd77::/64"}, PersistentKeepalive: 25}
	if code, _ := call("PUT", "/api/tunnels/"+srvIface+"/client-settings", settings, nil); code != http.StatusOK {
		t.Fatalf("client settings: %d", code)
	}

	// The client, added through the API; its configuration through the
	// one-time link, without the session.
	var added addedClientJSON
	if code, _ := call("POST", "/api/tunnels/"+srvIface+"/clients", map[string]any{"name": "phone"}, &added); code != http.StatusCreated {
		t.Fatalf("add client: %d", code)
	}
	session := cookie
	cookie = ""
	var fetched string
	code, hdr := call("GET", added.ConfigLink, nil, &fetched)
	if code != http.StatusOK || fetched != added.Config || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("one-time link: %d %q %v", code, fetched, hdr)
	}
	if code, _ := call("GET", added.ConfigLink, nil, nil); code != http.StatusNotFound {
		t.Errorf("one-time link used twice: %d", code)
	}
	cookie = session
	if err := os.WriteFile(cliConf, []byte(fetched), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ip", "netns", "exec", client, warren, "up", cliConf).CombinedOutput(); err != nil {
		t.Fatalf("warren up the client's configuration: %v\n%s", err, out)
	}
	ping := func(addr string) error {
		out, err := exec.Command("ip", "netns", "exec", client, "ping", "-c", "3", "-i", "0.2", "-W", "2", addr).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v\n%s", err, out)
		}
		return nil
	}
	if err := ping("10.77.0.1"); err != nil {
		t.Fatalf("ping the server through the client's tunnel: %v", err)
	}
	if err := ping("fd77::1"); err != nil {
		t.Errorf("ping the server's IPv6 address through the client's tunnel: %v", err)
	}
	var list struct {
		Clients []clientJSON `json:"clients"`
	}
	call("GET", "/api/tunnels/"+srvIface+"/clients", nil, &list)
	if len(list.Clients) != 1 || list.Clients[0].LatestHandshake == 0 || !list.Clients[0].Running {
		t.Errorf("clients after the handshake: %+v", list.Clients)
	}

	// Disabled: out of the running server, and the client gets nowhere.
	if code, _ := call("POST", "/api/tunnels/"+srvIface+"/clients/"+added.Client.ID+"/disable", nil, nil); code != http.StatusOK {
		t.Fatalf("disable: %d", code)
	}
	if err := ping("10.77.0.1"); err == nil {
		t.Error("a disabled client still reaches the server")
	}
	stored, _ := os.ReadFile(filepath.Join(confDir, srvIface+".conf"))
	if strings.Contains(string(stored), added.Client.PublicKey) {
		t.Error("the disabled client is still in the server's configuration")
	}

	// Enabled again: the configuration the client holds works again once
	// it reconnects.
	if code, _ := call("POST", "/api/tunnels/"+srvIface+"/clients/"+added.Client.ID+"/enable", map[string]int64{"expires": time.Now().Add(time.Hour).Unix()}, nil); code != http.StatusOK {
		t.Fatalf("enable: %d", code)
	}
	for _, cmd := range []string{"down", "up"} {
		if out, err := exec.Command("ip", "netns", "exec", client, warren, cmd, cliConf).CombinedOutput(); err != nil {
			t.Fatalf("warren %s: %v\n%s", cmd, err, out)
		}
	}
	if err := ping("10.77.0.1"); err != nil {
		t.Errorf("the re-enabled client does not reach the server: %v", err)
	}
}
