//go:build windows

package winnet

import (
	"strings"
	"testing"
)

func TestGUIDWindowsForm(t *testing.T) {
	g := AdapterGUID("wg0", nil)
	if got, want := g.Windows().String(), "{"+strings.ToUpper(g.String())+"}"; got != want {
		t.Errorf("windows.GUID %s, want %s", got, want)
	}
}
