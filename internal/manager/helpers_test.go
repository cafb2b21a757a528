package manager_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/manager"
	"github.com/warren-vpn/warren/internal/manager/managertest"
	"github.com/warren-vpn/warren/internal/noise"
)

// cheap are argon2id parameters fast enough for tests.
var cheap = &manager.Argon2Params{Time: 1, Memory: 64, Threads: 1, KeyLen: 32}

type fixture struct {
	m     *manager.Manager
	sys   *managertest.System
	store *managertest.Store
	state string
}

func newFixture(t *testing.T, mod func(*manager.Options)) *fixture {
	t.Helper()
	store := managertest.NewStore()
	sys := managertest.NewSystem(store, t.TempDir())
	opts := manager.Options{System: sys, Store: store, StateDir: filepath.Join(t.TempDir(), "state"), Argon2: cheap, SamplePeriod: time.Hour,
		// No name resolves: tests never wait for DNS.
		Resolver: &conf.Resolver{LookupNetIP: func(_ context.Context, host string) ([]netip.Addr, error) {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}}}
	if mod != nil {
		mod(&opts)
	}
	m, err := manager.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return &fixture{m: m, sys: sys, store: store, state: opts.StateDir}
}

type keypair struct {
	priv noise.PrivateKey
	pub  noise.PublicKey
}

func newKey(t testing.TB) keypair {
	t.Helper()
	k, err := noise.NewPrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return keypair{priv: k, pub: k.PublicKey()}
}

// config is a tunnel's configuration with one peer per (name, allowed) pair.
func config(self keypair, port int, peers ...any) string {
	s := fmt.Sprintf("[Interface]\nPrivateKey = %s\nListenPort = %d\nAddress = 10.8.0.1/24\n", self.priv.Base64(), port)
	for i := 0; i+2 < len(peers)+1; i += 3 {
		name, k, allowed := peers[i].(string), peers[i+1].(keypair), peers[i+2].(string)
		s += "\n"
		if name != "" {
			s += "# Name = " + name + "\n"
		}
		s += fmt.Sprintf("[Peer]\nPublicKey = %s\nAllowedIPs = %s\n", k.pub, allowed)
	}
	return s
}
