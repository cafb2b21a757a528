package manager

import (
	"net/netip"
	"slices"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/winnet"
)

// Warning is a remark about running tunnels together, from winnet's
// Conflicts (the same warnings the Windows service gives): two tunnels
// claiming a default route, or overlapping AllowedIPs. It does not stop
// a tunnel.
type Warning struct {
	// Tunnels are the two tunnels involved.
	Tunnels []string
	// Kind is "default-route-ipv4", "default-route-ipv6",
	// "overlapping-allowed-ips" or "kill-switch".
	Kind string
	// Prefixes are the overlapping prefixes, one of each tunnel
	// (overlapping-allowed-ips only).
	Prefixes []netip.Prefix
	// Message says it in a sentence.
	Message string
}

var warningKinds = map[winnet.WarningKind]string{
	winnet.BothDefaultRouteIPv4:  "default-route-ipv4",
	winnet.BothDefaultRouteIPv6:  "default-route-ipv6",
	winnet.OverlappingAllowedIPs: "overlapping-allowed-ips",
	winnet.KillSwitchBlocksOther: "kill-switch",
}

// Warnings returns the conflicts between the tunnels running now.
func (m *Manager) Warnings() ([]Warning, error) {
	ts, err := m.Tunnels()
	if err != nil {
		return nil, err
	}
	var running []Tunnel
	for _, t := range ts {
		if t.Running {
			running = append(running, t)
		}
	}
	return m.conflicts(running), nil
}

// WarningsFor returns the conflicts of name with the other tunnels
// running now: what activating it means (or, if it runs, meant).
func (m *Manager) WarningsFor(name string) ([]Warning, error) {
	ts, err := m.Tunnels()
	if err != nil {
		return nil, err
	}
	var set []Tunnel
	for _, t := range ts {
		if t.Name == name || t.Running {
			set = append(set, t)
		}
	}
	var out []Warning
	for _, w := range m.conflicts(set) {
		if slices.Contains(w.Tunnels, name) {
			out = append(out, w)
		}
	}
	return out, nil
}

// conflicts computes winnet's plans for the tunnels — from the
// configuration when there is one, else from the running device — and
// their conflicts.
func (m *Manager) conflicts(ts []Tunnel) []Warning {
	cfgs, err := m.configs()
	if err != nil {
		return nil
	}
	var plans []*winnet.Plan
	for _, t := range ts {
		var f *conf.File
		if c, ok := cfgs[t.Name]; ok && c.file != nil {
			f = c.file
		} else {
			f = &conf.File{}
			for _, p := range t.Peers {
				f.Peers = append(f.Peers, conf.Peer{PublicKey: p.PublicKey, AllowedIPs: p.AllowedIPs})
			}
		}
		p, err := winnet.NewPlan(t.Name, f, winnet.Options{})
		if err != nil {
			continue // a plan Windows could not apply; up will say why
		}
		if !m.killSwitches() {
			// wg-quick's full tunnel is policy routing, not a kill
			// switch: nothing blocks the other tunnels.
			p.Firewall = nil
		}
		plans = append(plans, p)
	}
	var out []Warning
	for _, w := range winnet.Conflicts(plans) {
		out = append(out, Warning{
			Tunnels:  w.Tunnels,
			Kind:     warningKinds[w.Kind],
			Prefixes: w.Prefixes,
			Message:  w.String(),
		})
	}
	return out
}

// killSwitches reports whether the System's tunnels block other traffic
// when they take a default route, as the Windows tunnel services' firewall
// rules do (ServiceSystem), so that the warnings name what that blocks.
func (m *Manager) killSwitches() bool {
	k, ok := m.sys.(interface{ KillSwitch() bool })
	return ok && k.KillSwitch()
}
