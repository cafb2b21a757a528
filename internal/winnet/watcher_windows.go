//go:build windows

package winnet

import (
	"fmt"

	"golang.org/x/sys/windows"
	"golang.zx2c4.com/wireguard/windows/tunnel/winipcfg"
)

// InterfaceWatcher follows TCP/IP attaching address families to adapters
// (an IP interface row appearing). Start it with WatchInterfaces before
// creating the tunnel's adapter, so that no attachment is missed in the
// moment between the adapter appearing and Apply looking at it, and pass
// it to Apply, which names the adapter.
type InterfaceWatcher struct {
	att *Attachments
	cb  *winipcfg.InterfaceChangeCallback
}

// WatchInterfaces registers for the system's IP interface notifications.
func WatchInterfaces() (*InterfaceWatcher, error) {
	w := &InterfaceWatcher{att: NewAttachments()}
	cb, err := winipcfg.RegisterInterfaceChangeCallback(func(kind winipcfg.MibNotificationType, row *winipcfg.MibIPInterfaceRow) {
		if kind != winipcfg.MibAddInstance {
			return
		}
		switch row.Family {
		case windows.AF_INET:
			w.att.Notify(uint64(row.InterfaceLUID), FamilyIPv4)
		case windows.AF_INET6:
			w.att.Notify(uint64(row.InterfaceLUID), FamilyIPv6)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("watch network interfaces: %w", err)
	}
	w.cb = cb
	return w, nil
}

// Close unregisters the watcher; it returns once no notification is being
// delivered. Idempotent.
func (w *InterfaceWatcher) Close() error {
	if w == nil || w.cb == nil {
		return nil
	}
	cb := w.cb
	w.cb = nil
	if err := cb.Unregister(); err != nil {
		return fmt.Errorf("stop watching network interfaces: %w", err)
	}
	return nil
}
