package conf

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/noise"
)

func TestParsePeerName(t *testing.T) {
	peer := "[Peer]\nPublicKey = " + pubB64 + "\n"
	peer2 := "[Peer]\nPublicKey = " + pub2B64 + "\n"
	tests := []struct {
		name string
		in   string
		want []string // the peers' names
	}{
		{"directly above", "[Interface]\n# Name = alice\n" + peer, []string{"alice"}},
		{"any case and spacing", "#name=alice smith\n" + peer, []string{"alice smith"}},
		{"tabs and CRLF", "\t#\tNAME\t=\talice\t\r\n" + peer, []string{"alice"}},
		{"other comments between", "# Name = alice\n# added in May\n" + peer, []string{"alice"}},
		{"last name wins", "# Name = alice\n# Name = bob\n" + peer, []string{"bob"}},
		{"blank line ends it", "# Name = alice\n\n" + peer, []string{""}},
		{"key line ends it", "[Interface]\n# Name = alice\nListenPort = 1\n" + peer, []string{""}},
		{"after the header is no name", peer + "# Name = alice\n", []string{""}},
		{"trailing comment is no name", "[Interface] # Name = alice\n" + peer, []string{""}},
		{"empty value", "# Name =\n" + peer, []string{""}},
		{"no equals sign", "# Name alice\n" + peer, []string{""}},
		{"other key", "# Nickname = alice\n" + peer, []string{""}},
		{"too long", "# Name = " + strings.Repeat("a", MaxPeerName+1) + "\n" + peer, []string{""}},
		{"longest", "# Name = " + strings.Repeat("a", MaxPeerName) + "\n" + peer, []string{strings.Repeat("a", MaxPeerName)}},
		{"bidi override", "# Name = al\u202eice\n" + peer, []string{""}},
		{"control character", "# Name = al\x01ice\n" + peer, []string{""}},
		{"markup kept as text", "# Name = <script>alert(1)</script>\n" + peer, []string{"<script>alert(1)</script>"}},
		{"two peers", "# Name = alice\n" + peer + "\n# Name = bob\n" + peer2, []string{"alice", "bob"}},
		{"second unnamed", "# Name = alice\n" + peer + peer2, []string{"alice", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, quick := range []bool{false, true} {
				f, err := Parse("n", []byte(tt.in), Options{Quick: quick})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, p := range f.Peers {
					got = append(got, p.Name)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("quick=%v: names %q, want %q", quick, got, tt.want)
				}
			}
		})
	}
}

func TestWritePeerName(t *testing.T) {
	in := "[Interface]\nAddress = 10.0.0.1/24\nPrivateKey = " + privB64 + "\n\n# Name = alice\n[Peer]\nPublicKey = " + pubB64 +
		"\nAllowedIPs = 10.0.0.2/32\n\n[Peer]\nPublicKey = " + pub2B64 + "\n"
	f1, err := Parse("a", []byte(in), Options{Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, f1); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\n# Name = alice\n[Peer]\nPublicKey = "+pubB64+"\n") {
		t.Errorf("name not written above its peer:\n%s", buf.String())
	}
	if strings.Count(buf.String(), "# Name") != 1 {
		t.Errorf("an unnamed peer got a name line:\n%s", buf.String())
	}
	f2, err := Parse("b", buf.Bytes(), Options{Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f1, f2) {
		t.Errorf("round trip changed the file:\n%+v\n%+v", f1, f2)
	}
	// Stripped for wg, the name stays (as wg-quick strip keeps comments).
	buf.Reset()
	if err := Write(&buf, Strip(f1)); err != nil {
		t.Fatal(err)
	}
	f3, err := Parse("c", buf.Bytes(), Options{})
	if err != nil {
		t.Fatalf("stripped file rejected by the wg dialect: %v\n%s", err, buf.String())
	}
	if f3.Peers[0].Name != "alice" {
		t.Errorf("strip lost the name:\n%s", buf.String())
	}
}

func TestWriteRefusesBadName(t *testing.T) {
	pub := noise.PublicKey(mustKey(t, pubB64))
	for _, name := range []string{"a\n[Peer]", "a\rb", " alice", "alice ", strings.Repeat("x", MaxPeerName+1), "\xff", "a\u202eb"} {
		var buf bytes.Buffer
		err := Write(&buf, &File{Peers: []Peer{{Name: name, PublicKey: pub}}})
		if !errors.Is(err, ErrPeerName) {
			t.Errorf("name %q: error %v, want ErrPeerName", name, err)
		}
		if buf.Len() != 0 {
			t.Errorf("name %q: wrote %q before failing", name, buf.String())
		}
	}
}

// Names are comments to wg: they change nothing a device is given.
func TestNamesDoNotReachTheDevice(t *testing.T) {
	plain := "[Interface]\nPrivateKey = " + privB64 + "\n[Peer]\nPublicKey = " + pubB64 + "\nAllowedIPs = 10.0.0.2/32\n"
	named := "[Interface]\nPrivateKey = " + privB64 + "\n# Name = alice\n[Peer]\nPublicKey = " + pubB64 + "\nAllowedIPs = 10.0.0.2/32\n"
	var cfgs [2]any
	for i, s := range []string{plain, named} {
		f, err := Parse("x", []byte(s), Options{})
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := f.WireGuardConfig(context.Background(), nil, true)
		if err != nil {
			t.Fatal(err)
		}
		cfgs[i] = cfg
	}
	if !reflect.DeepEqual(cfgs[0], cfgs[1]) {
		t.Errorf("a name changed the device configuration:\n%+v\n%+v", cfgs[0], cfgs[1])
	}
}

func TestSetPeerName(t *testing.T) {
	pub := noise.PublicKey(mustKey(t, pubB64))
	other := noise.PublicKey(mustKey(t, pub2B64))
	base := "[Interface] # my server\nListenPort = 51820\nAddress = 10.0.0.1/24\n\n# the laptop\n[Peer]\nPublicKey = " + pubB64 +
		"\nAllowedIPs = 10.0.0.2/32 # keep\n\n[Peer]\nPublicKey = " + pub2B64 + "\n"
	tests := []struct {
		name  string
		in    string
		pub   noise.PublicKey
		set   string
		want  string
		err   error
		quick bool
	}{
		{"add", base, pub, "alice", strings.Replace(base, "# the laptop\n[Peer]", "# the laptop\n# Name = alice\n[Peer]", 1), nil, true},
		{"replace", "# Name = bob\n# x\n[Peer]\nPublicKey = " + pubB64 + "\n", pub, "alice",
			"# x\n# Name = alice\n[Peer]\nPublicKey = " + pubB64 + "\n", nil, false},
		{"remove", "# Name = bob\n[Peer]\nPublicKey = " + pubB64 + "\n", pub, "",
			"[Peer]\nPublicKey = " + pubB64 + "\n", nil, false},
		{"CRLF", "[Peer]\r\nPublicKey = " + pubB64 + "\r\n", pub, "alice",
			"# Name = alice\r\n[Peer]\r\nPublicKey = " + pubB64 + "\r\n", nil, false},
		{"same key twice", "[Peer]\nPublicKey = " + pubB64 + "\n[Peer]\nPublicKey = " + pubB64 + "\n", pub, "a",
			"# Name = a\n[Peer]\nPublicKey = " + pubB64 + "\n# Name = a\n[Peer]\nPublicKey = " + pubB64 + "\n", nil, false},
		{"no such peer", base, noise.PublicKey{1}, "alice", "", ErrNoPeer, true},
		{"remove absent name", base, other, "", base, nil, true},
		{"bad name", base, pub, "a\nPostUp = x", "", ErrPeerName, true},
		{"bad file", "[Peer]\nPublicKey = nope\n", pub, "alice", "", ErrInvalidValue, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SetPeerName([]byte(tt.in), Options{Quick: tt.quick}, tt.pub, tt.set)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
			f, err := Parse("x", got, Options{Quick: tt.quick})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range f.Peers {
				if p.PublicKey == tt.pub && p.Name != tt.set {
					t.Errorf("reparsed name %q, want %q", p.Name, tt.set)
				}
			}
		})
	}
}

func TestKeepNames(t *testing.T) {
	a, b := noise.PublicKey{1}, noise.PublicKey{2}
	src := &File{Peers: []Peer{{PublicKey: a, Name: "alice"}, {PublicKey: b, Name: "bob"}}}
	dst := &File{Peers: []Peer{{PublicKey: b}, {PublicKey: noise.PublicKey{3}}, {PublicKey: a, Name: "kept"}}}
	KeepNames(dst, src)
	got := []string{dst.Peers[0].Name, dst.Peers[1].Name, dst.Peers[2].Name}
	if want := []string{"bob", "", "kept"}; !reflect.DeepEqual(got, want) {
		t.Errorf("names %q, want %q", got, want)
	}
}

// TestStripMatchesWgQuick compares Debian's `wg-quick strip` of a file with
// names to warren's: both must give wg the same configuration, names
// included (wg-quick passes comments on unchanged). It needs root, as
// wg-quick does even to strip.
func TestStripMatchesWgQuick(t *testing.T) {
	wgQuick, err := exec.LookPath("wg-quick")
	if err != nil || os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and this test cannot run: wg-quick %v, euid %d", err, os.Geteuid())
		}
		t.Skip("needs root and wireguard-tools' wg-quick")
	}
	in := "[Interface]\nPrivateKey = " + privB64 + "\nAddress = 10.0.0.1/24\nDNS = 10.0.0.53\nPostUp = true\nListenPort = 51820\n\n" +
		"# Name = alice <a@example.com>\n# phone\n[Peer]\nPublicKey = " + pubB64 + "\nAllowedIPs = 10.0.0.2/32\n\n" +
		"[Peer]\nPublicKey = " + pub2B64 + "\nAllowedIPs = 10.0.0.3/32\n"
	dir := t.TempDir()
	path := filepath.Join(dir, "wgn0.conf")
	if err := os.WriteFile(path, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(wgQuick, "strip", path).Output()
	if err != nil {
		t.Fatalf("wg-quick strip: %v", err)
	}
	theirs, err := Parse("wg-quick strip", out, Options{})
	if err != nil {
		t.Fatalf("wg-quick strip output: %v\n%s", err, out)
	}
	f, err := Parse(path, []byte(in), Options{Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, Strip(f)); err != nil {
		t.Fatal(err)
	}
	ours, err := Parse("warren strip", buf.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(theirs, ours) {
		t.Errorf("wg-quick strip gives\n%+v\nwarren strip\n%+v", theirs, ours)
	}
	if ours.Peers[0].Name != "alice <a@example.com>" || ours.Peers[1].Name != "" {
		t.Errorf("names after strip: %q, %q", ours.Peers[0].Name, ours.Peers[1].Name)
	}
}

func FuzzSetPeerName(f *testing.F) {
	f.Add([]byte("# Name = bob\n[Peer]\nPublicKey = "+pubB64+"\n"), "alice", true)
	f.Add([]byte("[Interface]\r\nListenPort=1\r\n[Peer]\r\nPublicKey="+pubB64+"\r\n# Name = x\r\n[Peer]\r\nPublicKey="+pub2B64+"\r\n"), "", false)
	pub := noise.PublicKey(mustKey(f, pubB64))
	f.Fuzz(func(t *testing.T, data []byte, name string, quick bool) {
		opts := Options{Quick: quick}
		before, err := Parse("f", data, opts)
		if err != nil {
			return
		}
		out, err := SetPeerName(data, opts, pub, name)
		if err != nil {
			if !errors.Is(err, ErrNoPeer) && !errors.Is(err, ErrPeerName) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		after, err := Parse("f", out, opts)
		if err != nil {
			t.Fatalf("output does not parse: %v\n%q", err, out)
		}
		// Only the names of that peer changed.
		for i := range before.Peers {
			if before.Peers[i].PublicKey == pub {
				before.Peers[i].Name = name
			}
		}
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("SetPeerName changed more than the name:\n%+v\n%+v\n%q", before, after, out)
		}
	})
}
