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
	"syscall"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/netnstest"
	"github.com/warren-vpn/warren/internal/quick"
)

// TestEndToEnd runs `warren manager` as root in a network namespace,
// logs in through its setup link, imports a configuration, activates it
// against the reference implementation (wireguard-go) in a second
// namespace and sees the handshake, the traffic and the device's log
// through the API, then deactivates and deletes the tunnel.
func TestEndToEnd(t *testing.T) {
	skip := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and this test cannot run: %s", why)
		}
		t.Skip(why)
	}
	if os.Geteuid() != 0 {
		skip("needs root for network namespaces and TUN devices")
	}
	for _, tool := range []string{"ip", "wg", "ping"} {
		if _, err := exec.LookPath(tool); err != nil {
			skip(tool + " not installed")
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		skip("no /dev/net/tun")
	}
	bin := t.TempDir()
	warren, wggo := filepath.Join(bin, "warren"), filepath.Join(bin, "wireguard-go")
	for out, pkg := range map[string]string{warren: "github.com/warren-vpn/warren/cmd/warren", wggo: "golang.zx2c4.com/wireguard"} {
		if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	client, server := netnstest.New(t, "mgc"), netnstest.New(t, "mgs")
	id := client[len(client)-6:]
	iface, srvIface, veth := "wm"+id, "ws"+id, "mv"+id
	t.Cleanup(func() {
		// Whatever still runs in the namespaces keeps them (and the
		// devices) alive: stop it, then clean up after warren up.
		for _, ns := range []string{client, server} {
			out, _ := exec.Command("ip", "netns", "pids", ns).Output()
			for _, pid := range strings.Fields(string(out)) {
				// This process is listed too when a thread of it
				// dialled into the namespace from the main thread.
				if pid != fmt.Sprint(os.Getpid()) {
					exec.Command("kill", "-KILL", pid).Run()
				}
			}
		}
		for _, f := range []string{"/run/warren/quick/" + iface + ".json", "/run/warren/quick/" + iface + ".lock", quick.DaemonLogPath(iface),
			"/var/run/wireguard/" + iface + ".sock", "/var/run/wireguard/" + srvIface + ".sock"} {
			os.Remove(f)
		}
	})
	netnstest.IP(t, "link", "add", veth+"c", "netns", client, "type", "veth", "peer", "name", veth+"s", "netns", server)
	netnstest.IP(t, "-n", client, "addr", "add", "172.30.0.2/24", "dev", veth+"c")
	netnstest.IP(t, "-n", server, "addr", "add", "172.30.0.1/24", "dev", veth+"s")
	netnstest.IP(t, "-n", client, "link", "set", veth+"c", "up")
	netnstest.IP(t, "-n", server, "link", "set", veth+"s", "up")

	// The reference peer.
	genkey := func() (priv, pub string) {
		p, err := exec.Command("wg", "genkey").Output()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("wg", "pubkey")
		cmd.Stdin = strings.NewReader(string(p))
		q, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(p)), strings.TrimSpace(string(q))
	}
	srvPriv, srvPub := genkey()
	cliPriv, cliPub := genkey()
	if out, err := exec.Command("ip", "netns", "exec", server, wggo, srvIface).CombinedOutput(); err != nil {
		t.Fatalf("wireguard-go: %v\n%s", err, out)
	}
	srvConf := filepath.Join(t.TempDir(), "server.conf")
	os.WriteFile(srvConf, []byte(fmt.Sprintf("[Interface]\nPrivateKey = %s\nListenPort = 51820\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.66.0.2/32\n", srvPriv, cliPub)), 0o600)
	if out, err := exec.Command("ip", "netns", "exec", server, "wg", "setconf", srvIface, srvConf).CombinedOutput(); err != nil {
		t.Fatalf("wg setconf: %v\n%s", err, out)
	}
	netnstest.IP(t, "-n", server, "addr", "add", "10.66.0.1/24", "dev", srvIface)
	netnstest.IP(t, "-n", server, "link", "set", srvIface, "up")

	// The manager, in the client namespace.
	dir := t.TempDir()
	stateDir, confDir := filepath.Join(dir, "state"), filepath.Join(dir, "conf")
	mgr := exec.Command("ip", "netns", "exec", client, warren, "manager", "--listen", "127.0.0.1:0", "--state", stateDir, "--config-dir", confDir)
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
	if fi, err := os.Stat(linkFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("setup link file: %v, %v", fi, err)
	}
	link, err := os.ReadFile(linkFile)
	if err != nil {
		t.Fatal(err)
	}

	// HTTP from inside the client namespace.
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			var err error
			netnstest.Run(t, client, func() { c, err = (&net.Dialer{}).DialContext(ctx, network, addr) })
			return c, err
		},
	}}
	var cookie string
	call := func(method, path string, body, out any) int {
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
		if out != nil && len(data) > 0 {
			if err := json.Unmarshal(data, out); err != nil {
				t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, data, err)
			}
		}
		return resp.StatusCode
	}

	u, err := url.Parse(strings.TrimSpace(string(link)))
	if err != nil {
		t.Fatal(err)
	}
	if code := call("GET", "/api/tunnels", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("API before login: %d", code)
	}
	if code := call("GET", u.RequestURI(), nil, nil); code != http.StatusOK {
		t.Fatalf("setup page: %d", code)
	}
	if code := call("POST", "/api/setup", map[string]string{"token": u.Query().Get("token"), "password": testPassword}, nil); code != http.StatusNoContent || cookie == "" {
		t.Fatalf("setup: %d", code)
	}
	if _, err := os.Stat(linkFile); err == nil {
		t.Error("setup link file left after setup")
	}

	conf := fmt.Sprintf("[Interface]\nPrivateKey = %s\nAddress = 10.66.0.2/24\n\n# Name = the reference\n[Peer]\nPublicKey = %s\nEndpoint = 172.30.0.1:51820\nAllowedIPs = 10.66.0.1/32\nPersistentKeepalive = 1\n", cliPriv, srvPub)
	var e apiError
	if code := call("POST", "/api/tunnels", map[string]string{"name": iface, "config": strings.Replace(conf, "Address = 10.66.0.2/24", "Address = 10.66.0.2/40", 1)}, &e); code != http.StatusUnprocessableEntity || e.Line != 3 {
		t.Errorf("bad import: %d %+v", code, e)
	}
	if code := call("POST", "/api/tunnels", map[string]string{"name": iface, "config": conf}, nil); code != http.StatusCreated {
		t.Fatalf("import: %d", code)
	}
	if fi, err := os.Stat(filepath.Join(confDir, iface+".conf")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("stored configuration: %v, %v", fi, err)
	}
	var act actionJSON
	if code := call("POST", "/api/tunnels/"+iface+"/activate", nil, &act); code != http.StatusOK {
		t.Fatalf("activate: %d %+v", code, act)
	}
	if !strings.Contains(act.Output, "[#] ip -4 address add 10.66.0.2/24 dev "+iface) {
		t.Errorf("activation output:\n%s", act.Output)
	}

	// The handshake, as the API reports it.
	var tn tunnelJSON
	deadline := time.Now().Add(20 * time.Second)
	for {
		call("GET", "/api/tunnels/"+iface, nil, &tn)
		if len(tn.Peers) == 1 && tn.Peers[0].LatestHandshake > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no handshake: %+v", tn)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !tn.Running || tn.Peers[0].Name != "the reference" || tn.Peers[0].PublicKey != srvPub || tn.Peers[0].Endpoint != "172.30.0.1:51820" {
		t.Errorf("tunnel: %+v", tn)
	}
	if out, err := exec.Command("ip", "netns", "exec", client, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.66.0.1").CombinedOutput(); err != nil {
		t.Errorf("ping through the tunnel: %v\n%s", err, out)
	}

	// Live statistics: bytes move.
	var got statsJSON
	streamLines(t, hc, base+"/api/events", cookie, func(event, data string) bool {
		json.Unmarshal([]byte(data), &got)
		ifc := got.Interfaces[iface]
		return ifc != nil && len(ifc.Peers) == 1 && ifc.Peers[0].RxBytes > 0 && ifc.Peers[0].TxBytes > 0
	})
	// The device's own log: its handshake.
	streamLines(t, hc, base+"/api/tunnels/"+iface+"/log", cookie, func(event, data string) bool {
		var l logLineJSON
		json.Unmarshal([]byte(data), &l)
		return event == "line" && strings.Contains(l.Text, "handshake")
	})
	// The manager's log: the activation with up's output.
	streamLines(t, hc, base+"/api/log", cookie, func(event, data string) bool {
		var l logLineJSON
		json.Unmarshal([]byte(data), &l)
		return l.Tag == "UP" && l.Text == "activated "+iface
	})

	if code := call("POST", "/api/tunnels/"+iface+"/deactivate", nil, &act); code != http.StatusOK {
		t.Fatalf("deactivate: %d %+v", code, act)
	}
	call("GET", "/api/tunnels/"+iface, nil, &tn)
	if tn.Running {
		t.Error("still running after deactivate")
	}
	if _, err := net.InterfaceByName(iface); err == nil {
		t.Error("interface in the root namespace") // it never was: a sanity check of the namespace
	}
	if code := call("DELETE", "/api/tunnels/"+iface, nil, nil); code != http.StatusOK {
		t.Errorf("delete: %d", code)
	}
	if _, err := os.Stat(filepath.Join(confDir, iface+".conf")); err == nil {
		t.Error("configuration left after delete")
	}

	// SIGTERM stops the manager cleanly.
	mgr.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("manager exit: %v", err)
		}
		exited <- nil
	case <-time.After(10 * time.Second):
		t.Error("the manager did not stop on SIGTERM")
	}
}

// streamLines reads server-sent events from url until done says so (or
// 20 s pass, which fails the test).
func streamLines(t *testing.T, hc *http.Client, url, cookie string, done func(event, data string) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Cookie", SessionCookie+"="+cookie)
	c := *hc
	c.Timeout = 0
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	event := ""
	var seen []string
	for sc.Scan() {
		line := sc.Text()
		if ev, ok := strings.CutPrefix(line, "event: "); ok {
			event = ev
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			seen = append(seen, data)
			if done(event, data) {
				return
			}
		}
	}
	if len(seen) > 10 {
		seen = seen[len(seen)-10:]
	}
	t.Fatalf("GET %s: never saw what the test waits for; last events:\n%s", url, strings.Join(seen, "\n"))
}
