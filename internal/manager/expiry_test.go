package manager_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warren-vpn/warren/internal/manager"
)

// The manager's own timer disables a client when it expires, without
// anyone calling ExpireClients (a fake clock: synctest's).
func TestClientExpiryTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, nil)
		self, bob := newKey(t), newKey(t)
		if _, err := f.m.Import("wg0", []byte(serverConfig(self, bob))); err != nil {
			t.Fatal(err)
		}
		if _, err := f.m.Activate(context.Background(), "wg0"); err != nil {
			t.Fatal(err)
		}
		s := manager.DefaultClientSettings()
		s.EndpointHost = "vpn.example.com"
		f.m.SetClientSettings("wg0", s)
		c, cfg, err := f.m.AddClient(context.Background(), "wg0", manager.NewClient{Name: "alice", Expires: time.Now().Add(90*time.Minute + 30*time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Zero()
		inFile := func() bool {
			data, _ := f.store.Read("wg0")
			return strings.Contains(string(data), c.PublicKey.String())
		}
		time.Sleep(90 * time.Minute)
		synctest.Wait()
		if !inFile() {
			t.Fatal("expired early")
		}
		time.Sleep(31 * time.Second)
		synctest.Wait()
		if inFile() {
			t.Fatal("not expired 1 s after its expiry")
		}
		d, _ := f.sys.Device("wg0")
		if devicePeer(d, c.PublicKey) != nil {
			t.Error("still on the device")
		}
		f.m.Close()
	})
}
