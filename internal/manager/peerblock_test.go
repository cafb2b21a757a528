package manager

import (
	"crypto/rand"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/noise"
)

func testKey(t testing.TB) noise.PublicKey {
	t.Helper()
	k, err := noise.NewPrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k.PublicKey()
}

func testPSK(t testing.TB) noise.PresharedKey {
	t.Helper()
	k, err := noise.NewPresharedKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const serverHead = "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\nListenPort = 51820\nAddress = 10.8.0.1/24\n"

// Adding a client's section and taking it out again gives back the file
// byte for byte, whatever its line endings, comments and spacing.
func TestPeerBlockRoundTrip(t *testing.T) {
	bob := testKey(t)
	files := map[string]string{
		"interface only":         serverHead,
		"no final newline":       strings.TrimSuffix(serverHead, "\n"),
		"trailing blank lines":   serverHead + "\n\n",
		"crlf":                   strings.ReplaceAll(serverHead+"\n# Name = bob\n[Peer]\nPublicKey = "+bob.String()+"\nAllowedIPs = 10.8.0.2/32\n", "\n", "\r\n"),
		"named peer and comment": serverHead + "\n# bob's laptop\n# Name = bob\n[Peer]\nPublicKey = " + bob.String() + "\nAllowedIPs = 10.8.0.2/32 # fixed\n",
		"odd spacing":            serverHead + "\n  [ peer ]  \n\tPublicKey=" + bob.String() + "\nAllowedIPs = 10.8.0.2/32\n# trailing comment\n",
	}
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			pub := testKey(t)
			block := peerBlock("alice <script>", pub, testPSK(t), []netip.Prefix{netip.MustParsePrefix("10.8.0.3/32")})
			added := appendPeerBlock([]byte(data), block)
			f, err := conf.Parse("t", added, conf.Options{Quick: true})
			if err != nil {
				t.Fatalf("%v\n%s", err, added)
			}
			last := f.Peers[len(f.Peers)-1]
			if last.PublicKey != pub || last.Name != "alice <script>" {
				t.Fatalf("added peer: %+v", last)
			}
			if strings.Contains(data, "\r\n") && strings.Count(string(added), "\n") != strings.Count(string(added), "\r\n") {
				t.Errorf("mixed line endings:\n%q", added)
			}
			if !strings.HasPrefix(string(added), data) {
				t.Errorf("the old text changed:\n%q\n%q", data, added)
			}
			out, removed, err := removePeerBlock(added, pub)
			if err != nil {
				t.Fatal(err)
			}
			want := data
			if !strings.HasSuffix(data, "\n") {
				want += "\n" // the line ending appending gave the last line stays
			}
			if string(out) != strings.TrimRight(want, "\r\n")+eolOf(data) && string(out) != want {
				t.Errorf("after add and remove:\n%q\nwant\n%q", out, want)
			}
			if removed != block {
				t.Errorf("removed text:\n%q\nwant\n%q", removed, block)
			}
		})
	}
}

func eolOf(s string) string {
	if strings.Contains(s, "\r\n") {
		return "\r\n"
	}
	return "\n"
}

// Removing one peer from the middle keeps every other byte: the other
// peers, their names, the comments that belong to the next section.
func TestRemovePeerBlockMiddle(t *testing.T) {
	a, b, c := testKey(t), testKey(t), testKey(t)
	head := serverHead + "\n# Name = first\n[Peer]\nPublicKey = " + a.String() + "\nAllowedIPs = 10.8.0.2/32\n\n"
	mid := "# Name = middle\n[Peer]\nPublicKey = " + b.String() + "\nPresharedKey = " + testPSK(t).Base64() + "\nAllowedIPs = 10.8.0.3/32\n\n"
	tail := "# the last one, in the attic\n# Name = last\n[Peer]\nPublicKey = " + c.String() + "\nAllowedIPs = 10.8.0.4/32\nEndpoint = 192.0.2.1:51820\n"
	out, removed, err := removePeerBlock([]byte(head+mid+tail), b)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != head+tail {
		t.Errorf("got\n%s\nwant\n%s", out, head+tail)
	}
	if removed != strings.TrimRight(mid, "\n")+"\n" {
		t.Errorf("removed %q", removed)
	}
	if _, _, err := removePeerBlock(out, b); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing it again: %v", err)
	}
	// The last section goes with its comments and the blank line before
	// it.
	out, _, err = removePeerBlock([]byte(head+mid+tail), c)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != head+strings.TrimSuffix(mid, "\n") {
		t.Errorf("without the last:\n%q", out)
	}
	// A peer whose section appears twice loses both.
	dup := serverHead + "\n[Peer]\nPublicKey = " + a.String() + "\n\n[Peer]\nPublicKey = " + b.String() + "\n\n[Peer]\nPublicKey = " + a.String() + "\nAllowedIPs = 10.8.0.9/32\n"
	out, _, err = removePeerBlock([]byte(dup), a)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != serverHead+"\n[Peer]\nPublicKey = "+b.String()+"\n" {
		t.Errorf("duplicate sections:\n%q", out)
	}
}

// FuzzRemovePeerBlock: for any configuration and any of its peers,
// removing the peer either refuses or leaves exactly the other peers and
// the interface (removePeerBlock checks that itself, so here the check is
// that it never passes a wrong result), and putting the removed text back
// brings the peer back.
func FuzzRemovePeerBlock(f *testing.F) {
	k := testKey(f)
	f.Add([]byte(serverHead + "\n# Name = a\n[Peer]\nPublicKey = " + k.String() + "\nAllowedIPs = 10.8.0.2/32\n"))
	f.Add([]byte("[Peer]\nPublicKey = " + k.String() + "\n[Interface]\nListenPort = 1\n# Name = x\n[Peer]#c\nPublicKey = " + k.String() + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		before, err := conf.Parse("f", data, conf.Options{Quick: true})
		if err != nil || len(before.Peers) == 0 {
			return
		}
		pub := before.Peers[0].PublicKey
		out, removed, err := removePeerBlock(data, pub)
		if err != nil {
			if !errors.Is(err, errPeerText) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		after, err := conf.Parse("f", out, conf.Options{Quick: true})
		if err != nil {
			t.Fatalf("result does not parse: %v", err)
		}
		for _, p := range after.Peers {
			if p.PublicKey == pub {
				t.Fatalf("the peer is still there:\n%q", out)
			}
		}
		if !reflect.DeepEqual(after.Interface, before.Interface) {
			t.Fatalf("interface changed")
		}
		back, err := conf.Parse("f", appendPeerBlock(out, removed), conf.Options{Quick: true})
		if err != nil {
			t.Fatalf("put back: %v\n%q", err, removed)
		}
		found := false
		for _, p := range back.Peers {
			found = found || p.PublicKey == pub
		}
		if !found {
			t.Fatalf("not back:\n%q", removed)
		}
	})
}
