//go:build windows

package wintunnel

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/tun"
)

const testConf = `[Interface]
PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
Address = 10.9.0.2/32
DNS = 10.9.0.1
%s
[Peer]
PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
Endpoint = 192.0.2.1:51820
AllowedIPs = 0.0.0.0/0
`

func parse(t *testing.T, extra string) *conf.File {
	t.Helper()
	f, err := conf.Parse("t", []byte(strings.Replace(testConf, "%s", extra, 1)), conf.Options{Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// These run where Wintun is not installed (wine, CI): Up must fail with
// the missing-DLL error, undo everything, and leave Down a no-op.
func wintunMissing(t *testing.T) {
	t.Helper()
	if _, err := tun.CreateWintun("warren-probe", 1420, windows.GUID{}); !errors.Is(err, tun.ErrWintunMissing) {
		t.Skipf("Wintun is present or fails otherwise here: %v", err)
	}
}

func TestServiceTunnelWithoutWintun(t *testing.T) {
	wintunMissing(t)
	s := NewServiceTunnel("warren-test", Options{})
	err := s.Up(parse(t, ""))
	if !errors.Is(err, tun.ErrWintunMissing) {
		t.Fatalf("Up = %v, want ErrWintunMissing", err)
	}
	if err := s.Down(); err != nil {
		t.Errorf("Down after a failed Up: %v", err)
	}
}

func TestServiceTunnelPreUpFails(t *testing.T) {
	s := NewServiceTunnel("warren-test", Options{})
	err := s.Up(parse(t, "PreUp = exit 3"))
	if err == nil || !strings.Contains(err.Error(), "PreUp") {
		t.Fatalf("Up = %v, want a PreUp failure", err)
	}
}

func TestUpRefusesUncheckedHooks(t *testing.T) {
	_, err := Up(t.Context(), "warren-test", parse(t, "PostUp = echo hi"), Options{})
	if !errors.Is(err, ErrHooks) {
		t.Fatalf("Up = %v, want ErrHooks", err)
	}
}

func TestWarnings(t *testing.T) {
	if ws := Warnings(nil); len(ws) != 0 {
		t.Errorf("Warnings(nil) = %v", ws)
	}
}
