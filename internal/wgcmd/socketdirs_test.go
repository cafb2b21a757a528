package wgcmd

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/warren-vpn/warren/internal/uapi"
)

func TestSocketDirs(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"system only", nil, []string{uapi.DefaultSocketDir}},
		{"rootless too", map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}, []string{uapi.DefaultSocketDir, filepath.Join("/run/user/1000", "warren")}},
		{"override wins", map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000", SocketDirEnv: "/tmp/x"}, []string{"/tmp/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := socketDirs(func(k string) string { return tt.env[k] })
			if !slices.Equal(got, tt.want) {
				t.Errorf("socketDirs = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestInterfacesAcrossDirs(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	u := uapiDevices{dirs: []string{a, b}}
	names, err := u.Interfaces()
	if err != nil || len(names) != 0 {
		t.Fatalf("empty dirs: %q, %v", names, err)
	}
	if _, err := u.Get("nope"); err == nil {
		t.Fatal("Get of a missing interface succeeded")
	} else if got := errnoText(err); got != "No such device" {
		t.Errorf("missing interface reads %q, want %q", got, "No such device")
	}
}
