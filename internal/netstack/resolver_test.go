package netstack

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/warren-vpn/warren/internal/testenv"
)

// zoneRecord is what the test DNS server knows of one name.
type zoneRecord struct {
	a, aaaa []netip.Addr
	cname   string
}

// dnsServer is a DNS server on a test stack, UDP and TCP on port 53 of
// addr, answering from zone and recording every question it is asked.
type dnsServer struct {
	addr netip.Addr
	zone map[string]zoneRecord // keys lower case, with the final dot
	// rcode, if not success, answers every query with it.
	rcode dnsmessage.RCode
	// truncateUDP answers every UDP query with an empty, truncated reply.
	truncateUDP bool

	mu    sync.Mutex
	asked []string // "name TYPE udp|tcp"
}

func (s *dnsServer) questions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.asked)
}

func serveDNS(t testing.TB, n *peerNode, s *dnsServer) {
	t.Helper()
	ap := netip.AddrPortFrom(s.addr, 53)
	pc, err := n.ns.ListenUDP(ap)
	if err != nil {
		t.Fatal(err)
	}
	testenv.ServePackets(t, pc, func(q []byte, _ net.Addr) []byte { return s.answer(q, "udp") })
	l, err := n.ns.ListenTCP(ap)
	if err != nil {
		t.Fatal(err)
	}
	testenv.ServeConns(t, l, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		var hdr [2]byte
		for {
			if _, err := io.ReadFull(c, hdr[:]); err != nil {
				return
			}
			q := make([]byte, binary.BigEndian.Uint16(hdr[:]))
			if _, err := io.ReadFull(c, q); err != nil {
				return
			}
			resp := s.answer(q, "tcp")
			if resp == nil {
				return
			}
			c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(resp))), resp...))
		}
	})
}

func (s *dnsServer) answer(q []byte, proto string) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil {
		return nil
	}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) != 1 {
		return nil
	}
	qn := strings.ToLower(qs[0].Name.String())
	s.mu.Lock()
	s.asked = append(s.asked, qn+" "+qs[0].Type.String()+" "+proto)
	s.mu.Unlock()
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	rec, found := s.zone[qn]
	switch {
	case s.rcode != dnsmessage.RCodeSuccess:
		rh.RCode = s.rcode
		found = false
	case proto == "udp" && s.truncateUDP:
		rh.Truncated = true
		found = false
	case !found:
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	b.StartQuestions()
	b.Question(qs[0])
	b.StartAnswers()
	name := qs[0].Name
	for hops := 0; found && hops < 10; hops++ {
		hdr := dnsmessage.ResourceHeader{Name: name, Class: dnsmessage.ClassINET, TTL: 60}
		if rec.cname != "" {
			target := dnsmessage.MustNewName(rec.cname)
			b.CNAMEResource(hdr, dnsmessage.CNAMEResource{CNAME: target})
			name = target
			rec, found = s.zone[strings.ToLower(rec.cname)]
			continue
		}
		for _, a := range rec.a {
			if qs[0].Type == dnsmessage.TypeA {
				b.AResource(hdr, dnsmessage.AResource{A: a.As4()})
			}
		}
		for _, a := range rec.aaaa {
			if qs[0].Type == dnsmessage.TypeAAAA {
				b.AAAAResource(hdr, dnsmessage.AAAAResource{AAAA: a.As16()})
			}
		}
		break
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}

// TestResolverIgnoresHostConfig: names the resolver sends into the tunnel
// are sent as they are — no search domain of the host's resolv.conf is
// appended — and are never answered from the host's hosts file. It runs
// itself again in a private mount namespace whose /etc/hosts and
// /etc/resolv.conf are the test's (root and unshare(1) needed).
func TestResolverIgnoresHostConfig(t *testing.T) {
	if os.Getenv("WARREN_RESOLVER_CHILD") == "1" {
		resolverIgnoresHostConfig(t)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("uses a Linux mount namespace")
	}
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "unshare", "util-linux")
	unshare, _ := exec.LookPath("unshare")
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts")
	resolv := filepath.Join(dir, "resolv.conf")
	os.WriteFile(hosts, []byte("127.0.0.1 localhost\n10.9.9.9 hostsonly.test\n10.9.9.10 short.corp.example\n"), 0o644)
	os.WriteFile(resolv, []byte("nameserver 192.0.2.53\nsearch corp.example\noptions ndots:5 attempts:1\n"), 0o644)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c",
		`mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/resolv.conf && exec "$3" -test.run='^TestResolverIgnoresHostConfig$' -test.v`,
		"sh", hosts, resolv, self)
	cmd.Env = append(os.Environ(), "WARREN_RESOLVER_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("in a mount namespace: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestResolverIgnoresHostConfig") {
		t.Fatalf("output:\n%s", out)
	}
	t.Logf("child:\n%s", out)
}

func resolverIgnoresHostConfig(t *testing.T) {
	if b, err := os.ReadFile("/etc/hosts"); err != nil || !strings.Contains(string(b), "hostsonly.test") {
		t.Fatalf("the planted hosts file is not in place: %q, %v", b, err)
	}
	a, b := newPeerNode(t, 1), newPeerNode(t, 2)
	connect(t, a, b)
	srv := &dnsServer{addr: b.v4, zone: map[string]zoneRecord{
		"hostsonly.test.": {a: []netip.Addr{netip.MustParseAddr("10.7.7.7")}},
		"short.":          {a: []netip.Addr{netip.MustParseAddr("10.7.7.8")}},
	}}
	serveDNS(t, b, srv)
	r := a.ns.Resolver([]netip.Addr{b.v4})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, tc := range []struct{ name, want string }{
		{"hostsonly.test", "10.7.7.7"}, // not 10.9.9.9 from the hosts file
		{"short", "10.7.7.8"},          // not short.corp.example, from the hosts file or the server
	} {
		got, err := r.LookupNetIP(ctx, "ip4", tc.name)
		if err != nil || len(got) != 1 || got[0].String() != tc.want {
			t.Errorf("LookupNetIP(%q) = %v, %v; want [%s] from the tunnel's DNS server", tc.name, got, err, tc.want)
		}
	}
	asked := srv.questions()
	for _, want := range []string{"hostsonly.test. TypeA udp", "short. TypeA udp"} {
		if !slices.Contains(asked, want) {
			t.Errorf("the tunnel's DNS server was not asked %q; it was asked %q", want, asked)
		}
	}
	for _, q := range asked {
		if strings.Contains(q, "corp.example") {
			t.Errorf("the host's search domain reached the tunnel: %q", q)
		}
	}
}

// TestResolverLookup runs lookups against DNS servers inside a tunnel.
func TestResolverLookup(t *testing.T) {
	testenv.CheckGoroutines(t)
	a, b := newPeerNode(t, 1), newPeerNode(t, 2)
	connect(t, a, b)
	zone := map[string]zoneRecord{
		"web.tunnel.test.":    {a: []netip.Addr{netip.MustParseAddr("10.1.0.1")}, aaaa: []netip.Addr{netip.MustParseAddr("fd01::1")}},
		"v6only.tunnel.test.": {aaaa: []netip.Addr{netip.MustParseAddr("fd01::6")}},
		"alias.tunnel.test.":  {cname: "alias2.tunnel.test."},
		"alias2.tunnel.test.": {cname: "web.tunnel.test."},
		"big.tunnel.test.":    {a: []netip.Addr{netip.MustParseAddr("10.1.0.2")}},
	}
	good := &dnsServer{addr: b.v4, zone: zone}
	serveDNS(t, b, good)
	failing := &dnsServer{addr: b.v6, zone: zone, rcode: dnsmessage.RCodeServerFailure}
	serveDNS(t, b, failing)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := a.ns.Resolver([]netip.Addr{b.v4})
	addrs := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, a := range s {
			out = append(out, netip.MustParseAddr(a))
		}
		return out
	}
	for _, tc := range []struct {
		network, host string
		want          []netip.Addr
		err           error
	}{
		{"ip", "web.tunnel.test", addrs("10.1.0.1", "fd01::1"), nil},
		{"ip4", "WEB.Tunnel.Test.", addrs("10.1.0.1"), nil},
		{"ip6", "web.tunnel.test", addrs("fd01::1"), nil},
		{"ip", "v6only.tunnel.test", addrs("fd01::6"), nil},
		{"ip4", "v6only.tunnel.test", nil, ErrNotFound},
		{"ip", "alias.tunnel.test", addrs("10.1.0.1", "fd01::1"), nil},
		{"ip", "nx.tunnel.test", nil, ErrNotFound},
		{"ip", "192.0.2.1", addrs("192.0.2.1"), nil},
		{"ip", "localhost", nil, ErrBadName},
		{"ip", "db.localhost.", nil, ErrBadName},
		{"ip", "bad name", nil, ErrBadName},
		{"ip", "a..b", nil, ErrBadName},
		{"ip", "-option", nil, nil}, // a name, if an odd one: sent, and not found
		{"ip", strings.Repeat("a", 64) + ".test", nil, ErrBadName},
		{"ip", "nul\x00.test", nil, ErrBadName},
	} {
		t.Run(tc.network+" "+tc.host, func(t *testing.T) {
			got, err := r.LookupNetIP(ctx, tc.network, tc.host)
			if tc.want == nil && tc.err == nil {
				tc.err = ErrNotFound
			}
			if !errors.Is(err, tc.err) || !slices.Equal(got, tc.want) {
				t.Errorf("got %v, %v; want %v, %v", got, err, tc.want, tc.err)
			}
		})
	}
	for _, q := range good.questions() {
		if strings.Contains(q, "localhost") || strings.Contains(q, "bad") || strings.Contains(q, "aaaaaaaa") {
			t.Errorf("a refused name was sent: %q", q)
		}
	}

	t.Run("truncated reply retried over TCP", func(t *testing.T) {
		// b's addresses have their servers: this one runs on another pair.
		c, d := newPeerNode(t, 3), newPeerNode(t, 4)
		connect(t, c, d)
		tc := &dnsServer{addr: d.v4, zone: zone, truncateUDP: true}
		serveDNS(t, d, tc)
		got, err := c.ns.Resolver([]netip.Addr{d.v4}).LookupNetIP(ctx, "ip4", "big.tunnel.test")
		if err != nil || !slices.Equal(got, addrs("10.1.0.2")) {
			t.Fatalf("got %v, %v", got, err)
		}
		if q := tc.questions(); !slices.Equal(q, []string{"big.tunnel.test. TypeA udp", "big.tunnel.test. TypeA tcp"}) {
			t.Errorf("server was asked %q, want UDP then TCP", q)
		}
	})
	t.Run("failing server skipped", func(t *testing.T) {
		r := a.ns.Resolver([]netip.Addr{b.v6, b.v4})
		for range 3 {
			got, err := r.LookupNetIP(ctx, "ip4", "web.tunnel.test")
			if err != nil || !slices.Equal(got, addrs("10.1.0.1")) {
				t.Fatalf("got %v, %v", got, err)
			}
		}
		if len(failing.questions()) == 0 {
			t.Error("the first server was never tried")
		}
	})
	t.Run("only failing servers", func(t *testing.T) {
		_, err := a.ns.Resolver([]netip.Addr{b.v6}).LookupNetIP(ctx, "ip4", "web.tunnel.test")
		if !errors.Is(err, ErrDNSServer) {
			t.Errorf("got %v, want ErrDNSServer", err)
		}
	})
	t.Run("no servers", func(t *testing.T) {
		_, err := a.ns.Resolver(nil).LookupNetIP(ctx, "ip", "web.tunnel.test")
		if !errors.Is(err, ErrNoDNS) {
			t.Errorf("got %v, want ErrNoDNS", err)
		}
	})
	t.Run("unknown network", func(t *testing.T) {
		var ue net.UnknownNetworkError
		if _, err := r.LookupNetIP(ctx, "tcp", "web.tunnel.test"); !errors.As(err, &ue) {
			t.Errorf("got %v, want UnknownNetworkError", err)
		}
	})
}

// reply builds a reply to id for question q with the given answers.
func reply(t testing.TB, id uint16, q dnsmessage.Question, rcode dnsmessage.RCode, answers func(b *dnsmessage.Builder)) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, Response: true, RCode: rcode})
	b.StartQuestions()
	b.Question(q)
	b.StartAnswers()
	if answers != nil {
		answers(&b)
	}
	out, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestParseResponse(t *testing.T) {
	name := dnsmessage.MustNewName("web.tunnel.test.")
	q := dnsmessage.Question{Name: name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}
	hdr := func(n string) dnsmessage.ResourceHeader {
		return dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(n), Class: dnsmessage.ClassINET, TTL: 1}
	}
	a := func(n string, ip string) func(b *dnsmessage.Builder) {
		return func(b *dnsmessage.Builder) {
			b.AResource(hdr(n), dnsmessage.AResource{A: netip.MustParseAddr(ip).As4()})
		}
	}
	cname := func(n, target string) func(b *dnsmessage.Builder) {
		return func(b *dnsmessage.Builder) {
			b.CNAMEResource(hdr(n), dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName(target)})
		}
	}
	all := func(fs ...func(b *dnsmessage.Builder)) func(b *dnsmessage.Builder) {
		return func(b *dnsmessage.Builder) {
			for _, f := range fs {
				f(b)
			}
		}
	}
	otherQ := q
	otherQ.Name = dnsmessage.MustNewName("other.test.")
	for _, tc := range []struct {
		name string
		msg  []byte
		want []netip.Addr
		err  error
	}{
		{"address", reply(t, 7, q, 0, a("web.tunnel.test.", "10.0.0.1")), []netip.Addr{netip.MustParseAddr("10.0.0.1")}, nil},
		{"name case", reply(t, 7, q, 0, a("WEB.tunnel.TEST.", "10.0.0.1")), []netip.Addr{netip.MustParseAddr("10.0.0.1")}, nil},
		{"record for another name", reply(t, 7, q, 0, a("evil.test.", "10.6.6.6")), nil, ErrNotFound},
		{"alias after its target", reply(t, 7, q, 0, all(a("x.test.", "10.0.0.2"), cname("web.tunnel.test.", "x.test."))), []netip.Addr{netip.MustParseAddr("10.0.0.2")}, nil},
		{"alias loop", reply(t, 7, q, 0, all(cname("web.tunnel.test.", "x.test."), cname("x.test.", "web.tunnel.test."))), nil, ErrNotFound},
		{"NXDOMAIN", reply(t, 7, q, dnsmessage.RCodeNameError, nil), nil, ErrNotFound},
		{"wrong id", reply(t, 8, q, 0, a("web.tunnel.test.", "10.0.0.1")), nil, errNotOurs},
		{"wrong question", reply(t, 7, otherQ, 0, a("other.test.", "10.0.0.1")), nil, errNotOurs},
		{"garbage", []byte{0, 7, 0x80}, nil, errMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ans, err := parseResponse(tc.msg, 7, q)
			var got []netip.Addr
			if err == nil {
				got, err = ans.result()
			}
			if !errors.Is(err, tc.err) || !slices.Equal(got, tc.want) {
				t.Errorf("got %v, %v; want %v, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

// FuzzParseResponse: any reply parses without panicking, and the
// addresses it yields are of the type asked for.
func FuzzParseResponse(f *testing.F) {
	q := dnsmessage.Question{Name: dnsmessage.MustNewName("web.tunnel.test."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}
	f.Add(reply(f, 7, q, 0, func(b *dnsmessage.Builder) {
		b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET}, dnsmessage.AResource{A: [4]byte{10, 0, 0, 1}})
	}), false)
	f.Add(reply(f, 7, q, dnsmessage.RCodeNameError, nil), true)
	f.Fuzz(func(t *testing.T, msg []byte, v6 bool) {
		qq := q
		if v6 {
			qq.Type = dnsmessage.TypeAAAA
		}
		ans, err := parseResponse(msg, 7, qq)
		if err != nil {
			return
		}
		for _, a := range ans.addrs {
			if a.Is4() == v6 {
				t.Fatalf("asked for %v, got %v", qq.Type, a)
			}
		}
	})
}
