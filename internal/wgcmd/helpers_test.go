package wgcmd

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// fakeDevices is an in-memory set of interfaces.
type fakeDevices struct {
	names  []string
	devs   map[string]*wgtypes.Device
	sets   map[string][]*wgtypes.Config
	setErr error
}

func newFakeDevices() *fakeDevices {
	return &fakeDevices{devs: map[string]*wgtypes.Device{}, sets: map[string][]*wgtypes.Config{}}
}

func (f *fakeDevices) add(name string, d *wgtypes.Device) {
	f.names = append(f.names, name)
	f.devs[name] = d
}

func (f *fakeDevices) Interfaces() ([]string, error) { return f.names, nil }

func (f *fakeDevices) Get(name string) (*wgtypes.Device, error) {
	d, ok := f.devs[name]
	if !ok {
		return nil, fmt.Errorf("dial %s: %w", name, fs.ErrNotExist)
	}
	return d, nil
}

func (f *fakeDevices) Set(name string, cfg *wgtypes.Config) error {
	if _, ok := f.devs[name]; !ok {
		return fmt.Errorf("dial %s: %w", name, fs.ErrNotExist)
	}
	if f.setErr != nil {
		return f.setErr
	}
	f.sets[name] = append(f.sets[name], cfg)
	return nil
}

// fakeKeyFile reads "hex:<64 hex digits>" as a key, "" as the empty file
// and anything else as a missing file.
func fakeKeyFile(path string) ([noise.KeySize]byte, error) {
	var k [noise.KeySize]byte
	if path == "" {
		return k, nil
	}
	h, ok := strings.CutPrefix(path, "hex:")
	if !ok {
		return k, errors.New("fopen: No such file or directory")
	}
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != noise.KeySize {
		return k, errors.New("Invalid length key in key file")
	}
	copy(k[:], b)
	return k, nil
}

// fakeLookup knows a few names; the rest do not exist.
func fakeLookup(_ context.Context, host string) ([]netip.Addr, error) {
	switch host {
	case "peer.example":
		return []netip.Addr{netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("2001:db8::7")}, nil
	case "v6.example":
		return []netip.Addr{netip.MustParseAddr("2001:db8::6")}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// testEnv runs commands against fake devices with a fixed clock.
type testEnv struct {
	*env
	devs           *fakeDevices
	stdout, stderr *bytes.Buffer
}

func newTestEnv(vars map[string]string, now time.Time) *testEnv {
	var stdout, stderr bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	e := newEnv("wg", strings.NewReader(""), &stdout, &stderr, lookup)
	devs := newFakeDevices()
	e.devices = devs
	e.now = func() time.Time { return now }
	e.keyFile = fakeKeyFile
	e.lookup = fakeLookup
	e.sleep = func(context.Context, time.Duration) error { return nil }
	return &testEnv{env: e, devs: devs, stdout: &stdout, stderr: &stderr}
}

func (te *testEnv) run(stdin string, args ...string) (code int) {
	te.stdout.Reset()
	te.stderr.Reset()
	te.stdin = strings.NewReader(stdin)
	return te.env.run(args)
}

func mustKey(t testing.TB, s string) [32]byte {
	t.Helper()
	k, err := noise.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
