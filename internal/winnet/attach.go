package winnet

import "sync"

// Attachments collects TCP/IP's "IP interface added" notifications for
// the tunnel's adapter: which families TCP/IP has attached (again) since
// the configuration last looked.
//
// It exists so that the watcher can be registered before the adapter is
// created: until SetInterface names the adapter, every notification is
// kept with the interface it was for; SetInterface then keeps those of
// the adapter and drops the rest. A family attached twice before anyone
// looks is reported once (configuring a family is idempotent).
type Attachments struct {
	mu     sync.Mutex
	known  bool
	iface  uint64
	early  []attachment // before the adapter was known
	ready  map[IPFamily]bool
	signal chan struct{} // holds a token while ready is not empty
}

type attachment struct {
	iface  uint64
	family IPFamily
}

// NewAttachments returns an empty collection that does not know the
// adapter yet.
func NewAttachments() *Attachments {
	return &Attachments{ready: map[IPFamily]bool{}, signal: make(chan struct{}, 1)}
}

// Notify records that TCP/IP attached family f to interface iface. Safe
// to call from any goroutine (the system's notification callbacks).
func (a *Attachments) Notify(iface uint64, f IPFamily) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.known {
		a.early = append(a.early, attachment{iface, f})
		return
	}
	if iface == a.iface {
		a.markLocked(f)
	}
}

// SetInterface names the tunnel's adapter; notifications for it that came
// before are kept, the others dropped. Later calls are ignored.
func (a *Attachments) SetInterface(iface uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.known {
		return
	}
	a.known, a.iface = true, iface
	for _, e := range a.early {
		if e.iface == iface {
			a.markLocked(e.family)
		}
	}
	a.early = nil
}

func (a *Attachments) markLocked(f IPFamily) {
	a.ready[f] = true
	select {
	case a.signal <- struct{}{}:
	default:
	}
}

// Ready has a value when Take has families to report.
func (a *Attachments) Ready() <-chan struct{} { return a.signal }

// Take returns the families attached since the last Take, IPv4 first.
func (a *Attachments) Take() []IPFamily {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []IPFamily
	for _, f := range families {
		if a.ready[f] {
			out = append(out, f)
		}
	}
	clear(a.ready)
	select {
	case <-a.signal:
	default:
	}
	return out
}
