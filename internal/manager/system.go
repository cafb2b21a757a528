package manager

import (
	"context"
	"time"

	"github.com/warren-vpn/warren/internal/ringlog"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// System is what the manager needs of the operating system: the
// WireGuard devices, activating tunnels, and their logs. NewSystem gives
// this platform's; tests use managertest.System. Implementations must be
// safe for concurrent use.
type System interface {
	// Interfaces lists the WireGuard interfaces UAPI reaches, sorted.
	Interfaces() ([]string, error)
	// Device reads an interface's configuration and statistics. The
	// manager scrubs the keys it must not pass on.
	Device(name string) (*wgtypes.Device, error)
	// Configure applies cfg to a running interface, as one UAPI set.
	Configure(name string, cfg *wgtypes.Config) error
	// Up brings the tunnel up from its stored configuration as `warren up`
	// does; Down takes it down as `warren down`. out is what the tool
	// printed (its "[#] ..." lines and warnings), also when it failed.
	Up(ctx context.Context, name string) (out string, err error)
	Down(ctx context.Context, name string) (out string, err error)
	// OpenLog opens the log of the tunnel's device for reading; an error
	// matching ErrNoLog when it has none.
	OpenLog(name string) (*ringlog.Reader, error)
}

// Store holds the tunnels' configuration files. Implementations must be
// safe for concurrent use; the manager serializes changes to one name.
type Store interface {
	// List returns every stored configuration whose name is a valid
	// tunnel name, sorted by name.
	List() ([]StoredConfig, error)
	// Read returns a configuration; an error matching ErrNotFound when
	// there is none.
	Read(name string) ([]byte, error)
	// Write creates or replaces a configuration atomically (a reader sees
	// the old one or the new, never a mix), readable by the
	// administrator only.
	Write(name string, data []byte) error
	// Delete removes a configuration; ErrNotFound when there is none.
	Delete(name string) error
}

// StoredConfig is one entry of Store.List.
type StoredConfig struct {
	Name string
	// ModTime changes whenever the content may have (the manager's cache
	// of names is keyed by it).
	ModTime time.Time
	Size    int64
}
