package manager_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/manager"
)

// An edit of a running tunnel reaches the device as wg syncconf would:
// removed peers go, added ones come, kept ones keep their state; the
// wg-quick keys that need a restart are named.
func TestUpdateRunning(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	self, alice, bob, carol := newKey(t), newKey(t), newKey(t), newKey(t)
	if _, err := f.m.Import("wg0", []byte(config(self, 51820, "alice", alice, "10.8.0.2/32", "bob", bob, "10.8.0.3/32"))); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Activate(ctx, "wg0"); err != nil {
		t.Fatal(err)
	}
	hs := time.Unix(1700000000, 0)
	f.sys.SetStats("wg0", alice.pub, 100, 200, hs)

	edited := strings.Replace(config(self, 51821, "alice", alice, "10.8.0.2/32", "carol", carol, "10.8.0.4/32"),
		"Address = 10.8.0.1/24", "Address = 10.8.0.1/24, fd00::1/64", 1)
	res, err := f.m.Update(ctx, "wg0", []byte(edited))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Applied {
		t.Error("not applied to the running tunnel")
	}
	if want := []string{"Address", "routes for the changed AllowedIPs"}; !slices.Equal(res.RestartNeeded, want) {
		t.Errorf("restart needed for %q, want %q", res.RestartNeeded, want)
	}
	tn, err := f.m.Tunnel("wg0")
	if err != nil {
		t.Fatal(err)
	}
	if tn.ListenPort != 51821 {
		t.Errorf("listen port %d, want 51821", tn.ListenPort)
	}
	var got []string
	for _, p := range tn.Peers {
		got = append(got, p.Name)
		if p.PublicKey == alice.pub && (p.RxBytes != 100 || !p.LastHandshake.Equal(hs)) {
			t.Errorf("alice's session was disturbed: %+v", p)
		}
	}
	if !slices.Equal(got, []string{"alice", "carol"}) {
		t.Errorf("peers %q, want alice and carol", got)
	}
	if data, _ := f.store.Read("wg0"); string(data) != edited {
		t.Error("the file is not what was submitted")
	}

	// Only the wg part changing needs no restart.
	res, err = f.m.Update(ctx, "wg0", []byte(strings.Replace(edited, "51821", "51822", 1)))
	if err != nil || len(res.RestartNeeded) != 0 {
		t.Errorf("port change: %v, restart %q", err, res.RestartNeeded)
	}
}

// A running device that refuses the change leaves the old file in place.
func TestUpdateRollsBack(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	old := config(newKey(t), 1)
	f.m.Import("wg0", []byte(old))
	f.m.Activate(ctx, "wg0")
	f.sys.ConfigureErr = errors.New("address in use")
	if _, err := f.m.Update(ctx, "wg0", []byte(config(newKey(t), 2))); err == nil || !strings.Contains(err.Error(), "address in use") {
		t.Fatalf("error %v, want the device's", err)
	}
	if data, _ := f.store.Read("wg0"); string(data) != old {
		t.Errorf("old file not restored:\n%s", data)
	}
	// An endpoint that does not resolve is refused before anything is written.
	f.sys.ConfigureErr = nil
	writes := f.store.Writes
	bad := config(newKey(t), 3, "", newKey(t), "10.0.0.2/32") + "Endpoint = nonexistent.invalid:1\n"
	m2 := f.m
	if _, err := m2.Update(ctx, "wg0", []byte(bad)); !errors.Is(err, manager.ErrInvalid) {
		t.Errorf("unresolvable endpoint: %v, want ErrInvalid", err)
	}
	if f.store.Writes != writes {
		t.Error("the file was written although the change could not be applied")
	}
}

func TestUpdateStopped(t *testing.T) {
	f := newFixture(t, nil)
	f.m.Import("wg0", []byte(config(newKey(t), 1)))
	// A stopped tunnel's endpoints are not resolved: it may be edited offline.
	next := config(newKey(t), 2, "", newKey(t), "10.0.0.2/32") + "Endpoint = vpn.example.invalid:51820\n"
	res, err := f.m.Update(context.Background(), "wg0", []byte(next))
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied || len(f.sys.CallLog()) != 0 {
		t.Errorf("a stopped tunnel was touched: %+v, calls %q", res, f.sys.CallLog())
	}
	if _, err := f.m.Update(context.Background(), "none", []byte(next)); !errors.Is(err, manager.ErrNotFound) {
		t.Errorf("edit of an unknown tunnel: %v", err)
	}
	if _, err := f.m.Update(context.Background(), "wg0", []byte("[Peer]\n")); !errors.Is(err, manager.ErrInvalid) {
		t.Errorf("invalid edit: %v", err)
	}
}

// Names are set without touching anything else in the file, and survive
// activation, edits and the sampler.
func TestPeerNames(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	self, alice, bob := newKey(t), newKey(t), newKey(t)
	orig := "# my server\n" + config(self, 1, "", alice, "10.8.0.2/32 # laptop", "", bob, "10.8.0.3/32")
	f.m.Import("wg0", []byte(orig))
	if err := f.m.SetPeerName("wg0", alice.pub, "<script>alert(1)</script>"); err != nil {
		t.Fatal(err)
	}
	if err := f.m.SetPeerName("wg0", bob.pub, "bob"); err != nil {
		t.Fatal(err)
	}
	data, _ := f.store.Read("wg0")
	for _, keep := range []string{"# my server\n", "10.8.0.2/32 # laptop\n", "# Name = <script>alert(1)</script>\n[Peer]\nPublicKey = " + alice.pub.String()} {
		if !strings.Contains(string(data), keep) {
			t.Errorf("file lacks %q:\n%s", keep, data)
		}
	}
	if err := f.m.SetPeerName("wg0", newKey(t).pub, "x"); !errors.Is(err, manager.ErrNotFound) {
		t.Errorf("unknown peer: %v", err)
	}
	if err := f.m.SetPeerName("wg0", bob.pub, "a\nPostUp = reboot"); !errors.Is(err, manager.ErrInvalid) {
		t.Errorf("name with a newline: %v, want ErrInvalid", err)
	}
	if _, err := f.m.Activate(ctx, "wg0"); err != nil {
		t.Fatal(err)
	}
	// An edit of the text as the editor shows it keeps the names.
	text, _ := f.m.Config("wg0")
	if _, err := f.m.Update(ctx, "wg0", []byte(strings.Replace(string(text), "ListenPort = 1", "ListenPort = 5", 1))); err != nil {
		t.Fatal(err)
	}
	snap := f.m.Sampler().SampleNow()
	if snap.PeerName("wg0", alice.pub) != "<script>alert(1)</script>" || snap.PeerName("wg0", bob.pub) != "bob" {
		t.Errorf("snapshot names %v", snap.Names)
	}
	tn, _ := f.m.Tunnel("wg0")
	if tn.Peers[1].Name != "bob" {
		t.Errorf("running tunnel's peer names: %+v", tn.Peers)
	}
	if err := f.m.SetPeerName("wg0", bob.pub, ""); err != nil {
		t.Fatal(err)
	}
	if snap := f.m.Sampler().SampleNow(); snap.PeerName("wg0", bob.pub) != "" {
		t.Error("removed name still there")
	}
}
