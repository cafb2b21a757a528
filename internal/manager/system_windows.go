package manager

import (
	"fmt"
	"os"
	"strings"

	"github.com/warren-vpn/warren/internal/uapi"
	"github.com/warren-vpn/warren/internal/winsvc"
)

// Platform returns the Windows System and Store: the tunnel services and
// their DPAPI store, driven through internal/winsvc as `warren service
// ...` drives them (see ServiceSystem and SealedStore). configDir must be
// "" or the store's own folder: the tunnel services read their
// configurations from there and nowhere else. allowHooks lets the
// services the manager installs run hook commands (as `warren service
// install --allow-scripts`). The manager must run elevated or as SYSTEM
// (the manager service does).
func Platform(configDir string, allowHooks bool) (System, Store, error) {
	if err := winsvc.RequireAdmin("warren manager"); err != nil {
		return nil, nil, err
	}
	files, err := winsvc.OpenDefaultStore()
	if err != nil {
		return nil, nil, err
	}
	if configDir != "" && !sameDir(configDir, files.Dir) {
		return nil, nil, fmt.Errorf("--config-dir %s: on Windows the tunnels are the tunnel services' store, %s, which cannot be moved", configDir, files.Dir)
	}
	services := windowsServices{}
	store := &SealedStore{Files: files, Services: services}
	return &ServiceSystem{
		Services:                services,
		Store:                   store,
		SocketDir:               uapi.PipeDir,
		LogPath:                 winsvc.TunnelLogPath,
		AllowHooks:              allowHooks,
		HooksAllowedMachineWide: winsvc.ScriptsAllowedMachineWide,
		OperatorGroups:          windowsOperatorGroups,
	}, store, nil
}

// sameDir reports whether a and b name the same folder.
func sameDir(a, b string) bool {
	if strings.EqualFold(strings.TrimRight(a, `\/`), strings.TrimRight(b, `\/`)) {
		return true
	}
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// DefaultConfigDir is the tunnel services' store
// (%ProgramFiles%\warren\Data\Configurations).
func DefaultConfigDir() string {
	dir, err := winsvc.DefaultStoreDir()
	if err != nil {
		return ""
	}
	return dir
}

// DefaultStateDir is %ProgramData%\warren, the manager service's state.
func DefaultStateDir() string {
	dir, err := winsvc.ManagerStateDir()
	if err != nil {
		return `C:\ProgramData\warren`
	}
	return dir
}
