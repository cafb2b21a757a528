package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	mrand "math/rand/v2"
	"net/netip"
	"slices"
	"strings"
)

// model is what one daemon has been told: the churn changes it and the
// daemon together, and a get=1 answer must always match it.
type model struct {
	name string // "A" or "B", in messages
	sock string // UAPI socket
	dev  *deviceState
	live key // the peer carrying the soak's traffic: never removed or re-keyed

	idle    []key          // every other peer, for picking one at random
	owner   map[string]key // allowed prefix -> peer, as the device's table has it
	nextNet uint32         // next fresh address for a new allowed prefix
	rng     *mrand.Rand
}

func newModel(name, sock string, dev *deviceState, live key, seed uint64) (*model, error) {
	if _, ok := dev.peers[live]; !ok {
		return nil, fmt.Errorf("%s: live peer %s is not configured", name, b64(live))
	}
	m := &model{name: name, sock: sock, dev: dev, live: live, owner: make(map[string]key),
		rng: mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	for k, p := range dev.peers {
		if k != live {
			m.idle = append(m.idle, k)
		}
		for _, a := range p.allowed {
			m.owner[a] = k
		}
	}
	slices.SortFunc(m.idle, func(a, b key) int { return strings.Compare(a.hex(), b.hex()) })
	return m, nil
}

func newKey() key {
	var k key
	rand.Read(k[:])
	return k
}

func b64(k key) string { return base64.StdEncoding.EncodeToString(k[:]) }

// freshPrefix returns an allowed prefix no peer has: IPv4 /32s in
// 10.128.0.0/10 or IPv6 /120s in fd00:50::/32, never the soak's tunnel
// addresses (10.250.0.0/16), so the churn never takes the live pair's route.
func (m *model) freshPrefix() string {
	m.nextNet++
	n := m.nextNet
	if n%4 == 0 {
		a := netip.AddrFrom16([16]byte{0xfd, 0, 0, 0x50, 12: byte(n >> 16), 13: byte(n >> 8), 14: byte(n)})
		return netip.PrefixFrom(a, 120).String()
	}
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 128 + byte(n>>16&0x3f), byte(n >> 8), byte(n)}), 32).String()
}

// freshPrefixes returns n fresh prefixes. The churn keeps the number of
// allowed IPs of a device constant, so that its memory may stay flat.
func (m *model) freshPrefixes(n int) []string {
	var out []string
	for range n {
		out = append(out, m.freshPrefix())
	}
	return out
}

// randomEndpoint is an address nothing answers on: the daemon only stores it.
func (m *model) randomEndpoint() string {
	port := uint16(1024 + m.rng.IntN(60000))
	if m.rng.IntN(3) == 0 {
		a := netip.AddrFrom16([16]byte{0xfd, 0, 0, 0x77, 15: byte(1 + m.rng.IntN(254))})
		return netip.AddrPortFrom(a, port).String()
	}
	a := netip.AddrFrom4([4]byte{198, 18, byte(m.rng.IntN(256)), byte(1 + m.rng.IntN(254))})
	return netip.AddrPortFrom(a, port).String()
}

// setAllowed gives peer k exactly prefixes, taking any from their owners,
// as replace_allowed_ips followed by allowed_ip lines does.
func (m *model) setAllowed(k key, prefixes []string) {
	p := m.dev.peers[k]
	for _, a := range p.allowed {
		delete(m.owner, a)
	}
	p.allowed = nil
	for _, a := range prefixes {
		if old, ok := m.owner[a]; ok && old != k {
			op := m.dev.peers[old]
			op.allowed = slices.DeleteFunc(op.allowed, func(s string) bool { return s == a })
		}
		m.owner[a] = k
		if !slices.Contains(p.allowed, a) {
			p.allowed = append(p.allowed, a)
		}
	}
	slices.Sort(p.allowed)
}

func (m *model) removePeer(k key) {
	for _, a := range m.dev.peers[k].allowed {
		delete(m.owner, a)
	}
	delete(m.dev.peers, k)
	i := slices.Index(m.idle, k)
	m.idle[i] = m.idle[len(m.idle)-1]
	m.idle = m.idle[:len(m.idle)-1]
}

func (m *model) addPeer(k key, p *peerState) {
	allowed := p.allowed
	p.allowed = nil
	m.dev.peers[k] = p
	m.idle = append(m.idle, k)
	m.setAllowed(k, allowed)
}

// peerLines is the UAPI description of peer k as the model has it.
func (m *model) peerLines(k key) string {
	p := m.dev.peers[k]
	var b strings.Builder
	fmt.Fprintf(&b, "public_key=%s\npreshared_key=%s\n", k.hex(), p.psk.hex())
	if p.endpoint != "" {
		fmt.Fprintf(&b, "endpoint=%s\n", p.endpoint)
	}
	b.WriteString("replace_allowed_ips=true\n")
	for _, a := range p.allowed {
		fmt.Fprintf(&b, "allowed_ip=%s\n", a)
	}
	return b.String()
}

// The churn operations on idle peers. Each changes the model and returns
// the UAPI set body that makes the same change on the daemon.
var opNames = []string{"replace-key", "remove-add", "endpoint", "allowed-ips", "move-allowed-ip", "psk"}

func (m *model) randomOp() (name, body string) {
	name = opNames[m.rng.IntN(len(opNames))]
	k := m.idle[m.rng.IntN(len(m.idle))]
	p := m.dev.peers[k]
	switch name {
	case "replace-key": // the same peer, a new key: one transaction
		nk := newKey()
		np := &peerState{endpoint: p.endpoint, allowed: p.allowed, psk: p.psk}
		m.removePeer(k)
		m.addPeer(nk, np)
		return name, fmt.Sprintf("public_key=%s\nremove=true\n", k.hex()) + m.peerLines(nk)
	case "remove-add": // the newcomer has as many allowed IPs as the one removed
		prefixes := m.freshPrefixes(len(p.allowed))
		m.removePeer(k)
		nk := newKey()
		m.addPeer(nk, &peerState{endpoint: m.randomEndpoint(), allowed: prefixes})
		return name, fmt.Sprintf("public_key=%s\nremove=true\n", k.hex()) + m.peerLines(nk)
	case "endpoint":
		p.endpoint = m.randomEndpoint()
		return name, fmt.Sprintf("public_key=%s\nupdate_only=true\nendpoint=%s\n", k.hex(), p.endpoint)
	case "allowed-ips": // as many as it had, all new
		m.setAllowed(k, m.freshPrefixes(len(p.allowed)))
		return name, m.peerLines(k)
	case "move-allowed-ip": // an allowed IP moves from another idle peer to k
		other := m.idle[m.rng.IntN(len(m.idle))]
		op := m.dev.peers[other]
		if other == k || len(op.allowed) == 0 {
			return m.randomOp()
		}
		a := op.allowed[m.rng.IntN(len(op.allowed))]
		m.setAllowed(k, append(slices.Clone(p.allowed), a))
		return name, fmt.Sprintf("public_key=%s\nallowed_ip=%s\n", k.hex(), a)
	default: // "psk": set one, or clear it
		if m.rng.IntN(2) == 0 {
			p.psk = key{}
		} else {
			p.psk = newKey()
		}
		return name, fmt.Sprintf("public_key=%s\npreshared_key=%s\n", k.hex(), p.psk.hex())
	}
}

// conf is the model as a wg setconf file.
func (m *model) conf() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[Interface]\nPrivateKey = %s\nListenPort = %d\n", b64(m.dev.privateKey), m.dev.listenPort)
	keys := append([]key{m.live}, m.idle...)
	for _, k := range keys {
		p := m.dev.peers[k]
		fmt.Fprintf(&b, "\n[Peer]\nPublicKey = %s\n", b64(k))
		if p.psk != (key{}) {
			fmt.Fprintf(&b, "PresharedKey = %s\n", b64(p.psk))
		}
		if p.endpoint != "" {
			fmt.Fprintf(&b, "Endpoint = %s\n", p.endpoint)
		}
		if len(p.allowed) > 0 {
			fmt.Fprintf(&b, "AllowedIPs = %s\n", strings.Join(p.allowed, ", "))
		}
	}
	return b.String()
}

// diff lists how got differs from the model (at most max lines).
func (m *model) diff(got *deviceState, max int) []string {
	var out []string
	add := func(format string, args ...any) {
		if len(out) < max {
			out = append(out, fmt.Sprintf("%s: ", m.name)+fmt.Sprintf(format, args...))
		}
	}
	if got.privateKey != m.dev.privateKey {
		add("private key differs")
	}
	if got.listenPort != m.dev.listenPort {
		add("listen port %d, want %d", got.listenPort, m.dev.listenPort)
	}
	for k, want := range m.dev.peers {
		p, ok := got.peers[k]
		if !ok {
			add("peer %s missing", b64(k))
			continue
		}
		if !slices.Equal(p.allowed, want.allowed) {
			add("peer %s allowed IPs %v, want %v", b64(k), p.allowed, want.allowed)
		}
		if p.endpoint != want.endpoint {
			add("peer %s endpoint %q, want %q", b64(k), p.endpoint, want.endpoint)
		}
		if p.psk != want.psk {
			add("peer %s preshared key differs", b64(k))
		}
	}
	for k := range got.peers {
		if _, ok := m.dev.peers[k]; !ok {
			add("unexpected peer %s", b64(k))
		}
	}
	return out
}
