//go:build linux

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestWarrenQuick: `warren up` and `warren down` (warren's wg-quick) on a
// split tunnel and on a full tunnel (AllowedIPs 0.0.0.0/0). In the same
// namespace, Debian's wg-quick (with warren's daemon) brings the same file
// up and down first; warren up must leave the same addresses, MTU,
// routes, policy rules, firewall table and device configuration behind,
// then carry traffic to a peer (b), and warren down must leave what
// wg-quick down leaves. Only the kernel's random IPv6 link-local address
// is masked.
func TestWarrenQuick(t *testing.T) {
	requireEnv(t)
	requireTool(t, "wg-quick", "wireguard-tools")
	requireTool(t, "nft", "nftables")
	for _, full := range []bool{false, true} {
		name := "split"
		if full {
			name = "full-tunnel"
		}
		t.Run(name, func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, b *Impl) {
				requireImpl(t, warrenImpl)
				const behind = "10.78.99.1" // on the peer, reachable only through the tunnel
				nsA, nsB := NewNetns(t, "a"), NewNetns(t, "b")
				Veth(t, nsA, "va", nsB, "vb", 0)
				if full {
					// The peer's endpoint only by the default route.
					nsA.AddAddr("va", outerA4+"/32")
					nsA.IP("route", "add", "default", "dev", "va")
				} else {
					nsA.AddAddr("va", outerA4+"/24")
				}
				nsB.AddAddr("vb", outerB4+"/24")
				nsB.AddAddr("lo", behind+"/32")
				peer := StartDaemon(t, b, nsB)

				iface := nextIface()
				t.Cleanup(func() { killByIface(t, iface) })
				priv, pub := NewKeypair(t)
				allowed := innerB4 + "/32, " + behind + "/32, " + innerB6 + "/128"
				if full {
					allowed = "0.0.0.0/0, ::/0"
				}
				conf := filepath.Join(t.TempDir(), iface+".conf")
				writeFile(t, conf, "[Interface]\nPrivateKey = "+priv.String()+"\nListenPort = 41000\n"+
					"Address = "+innerA4+"/24, "+innerA6+"/64\nMTU = 1380\n\n"+
					"[Peer]\nPublicKey = "+peer.Public.String()+"\nEndpoint = "+peer.Endpoint(outerB4)+"\n"+
					"AllowedIPs = "+allowed+"\nPersistentKeepalive = 15\n")
				peer.SetConf(PeerConf{PublicKey: pub, AllowedIPs: []string{innerA4 + "/32", innerA6 + "/128"}})
				peer.Up(0, innerB4+"/24", innerB6+"/64")

				impl := filepath.Join(t.TempDir(), "wireguard-go")
				if err := os.Symlink(warrenImpl.Bin, impl); err != nil {
					t.Fatal(err)
				}
				wgQuick(t, nsA, impl, "up", conf)
				want := quickSnapshot(t, nsA, iface)
				t.Logf("wg-quick up leaves:\n%s", want)
				wgQuick(t, nsA, impl, "down", conf)
				waitGone(t, filepath.Join(uapiSocketDir, iface+".sock"))
				wantAfter := quickSnapshot(t, nsA, iface)

				warrenQuick(t, nsA, "up", conf)
				got := quickSnapshot(t, nsA, iface)
				if got != want {
					t.Errorf("warren up and wg-quick up differ:\n%s", lineDiff(want, got))
				}
				nsA.Ping(behind)
				nsA.PingCount(innerB4, 3)
				nsA.PingCount(innerB6, 3)
				nsB.PingCount(innerA4, 3)

				warrenQuick(t, nsA, "down", conf)
				waitGone(t, filepath.Join(uapiSocketDir, iface+".sock"))
				if after := quickSnapshot(t, nsA, iface); after != wantAfter {
					t.Errorf("warren down and wg-quick down leave different states:\n%s", lineDiff(wantAfter, after))
				}
			})
		})
	}
}

// warrenQuick runs `warren verb conf` in ns, failing the test on error.
func warrenQuick(t *testing.T, ns *Netns, verb, conf string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := ns.Command(ctx, warrenImpl.Bin, verb, conf)
	cmd.Env = append(os.Environ(), "LOG_LEVEL=verbose")
	out, err := runDetaching(cmd)
	t.Logf("warren %s:\n%s", verb, out)
	if err != nil {
		t.Fatalf("warren %s: %v", verb, err)
	}
}

var (
	ifindexPrefix = regexp.MustCompile(`(?m)^\d+: `)
	qlenField     = regexp.MustCompile(` qlen \d+`)
	lifetimes     = regexp.MustCompile(`\s+valid_lft \S+ preferred_lft \S+`)
	backslashes   = regexp.MustCompile(`\\\s+`)
	linkLocal     = regexp.MustCompile(`fe80::[0-9a-f:]+`)
)

// quickSnapshot is what wg-quick leaves behind in ns for iface: the
// interface, its addresses and device configuration, its routes, every
// policy rule, src_valid_mark and the nft ruleset, in a canonical text.
func quickSnapshot(t *testing.T, ns *Netns, iface string) string {
	t.Helper()
	var b strings.Builder
	section := func(name, out string) {
		b.WriteString("## " + name + "\n" + out)
		if !strings.HasSuffix(out, "\n") {
			b.WriteString("\n")
		}
	}
	link, err := ns.Run("ip", "-o", "link", "show", "dev", iface)
	if err != nil {
		link = "(none)\n"
	}
	link = qlenField.ReplaceAllString(ifindexPrefix.ReplaceAllString(link, ""), "")
	section("link", backslashes.ReplaceAllString(link, " "))
	addrs, _ := ns.Run("ip", "-o", "addr", "show", "dev", iface)
	addrs = lifetimes.ReplaceAllString(ifindexPrefix.ReplaceAllString(addrs, ""), "")
	section("addresses", backslashes.ReplaceAllString(addrs, " "))
	for _, fam := range []string{"-4", "-6"} {
		section("routes "+fam, sortedLines(routesOf(ns.Must("ip", fam, "route", "show", "table", "all"), iface)))
		section("rules "+fam, ns.Must("ip", fam, "rule", "show"))
	}
	section("src_valid_mark", ns.Must("sysctl", "-n", "net.ipv4.conf.all.src_valid_mark"))
	section("nft", ns.Must("nft", "list", "ruleset"))
	conf, err := ns.Run("wg", "showconf", iface)
	if err != nil {
		conf = "(none)\n"
	}
	section("showconf", normalizeShow(conf))
	return linkLocal.ReplaceAllString(b.String(), "fe80::<link-local>")
}

// routesOf keeps the routes wg-quick may own: through iface or in a table
// other than main and local (the veths' own routes come and go with IPv6
// address autoconfiguration).
func routesOf(routes, iface string) string {
	var keep []string
	for _, r := range strings.Split(routes, "\n") {
		if strings.Contains(r, "dev "+iface+" ") || strings.HasSuffix(r, "dev "+iface) ||
			(strings.Contains(r, " table ") && !strings.Contains(r, " table local") && !strings.Contains(r, " table main")) {
			keep = append(keep, r)
		}
	}
	return strings.Join(keep, "\n")
}

// sortedLines sorts the lines of s.
func sortedLines(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}
