package winnet

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"net/netip"
	"slices"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/noise"
)

// GUID is a Windows adapter GUID in RFC 4122 byte order (the order its
// string form is written in).
type GUID [16]byte

// String renders g as Windows and RFC 4122 write it, in lowercase.
func (g GUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], g[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], g[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], g[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], g[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], g[10:16])
	return string(b[:])
}

// adapterGUIDLabel separates this hash from every other use of SHA-256.
const adapterGUIDLabel = "warren Wintun adapter GUID v2"

// AdapterGUID derives the tunnel adapter's GUID from the tunnel's name and
// what decides where its traffic goes: the interface's public key, and
// each peer's public key with its AllowedIPs. Windows attaches a network
// profile (public or private, firewall category, metrics) to the adapter
// GUID, so the same configuration finds its profile again across restarts
// and reinstalls, and a changed configuration does not inherit another's.
// Like WireGuard for Windows' deterministic GUID, peers and AllowedIPs are
// hashed in a canonical order, so reordering the file changes nothing;
// endpoints, keepalives, DNS, MTU and hooks do not count.
//
// Only public values are hashed (the private key is reduced to its public
// key first), and only a hash leaves the function. f may be nil (then only
// the name counts). It is a name-based UUID: version 5 and RFC 4122
// variant bits over the first 16 bytes of SHA-256.
func AdapterGUID(name string, f *conf.File) GUID {
	h := sha256.New()
	h.Write([]byte(adapterGUIDLabel))
	writeBytes(h, []byte(name))
	var pub noise.PublicKey
	var peers []conf.Peer
	if f != nil {
		if f.Interface.PrivateKey != nil {
			pub = f.Interface.PrivateKey.PublicKey()
		}
		peers = slices.Clone(f.Peers)
	}
	h.Write(pub[:])
	slices.SortStableFunc(peers, func(a, b conf.Peer) int { return bytes.Compare(a.PublicKey[:], b.PublicKey[:]) })
	writeUint32(h, len(peers))
	for _, p := range peers {
		h.Write(p.PublicKey[:])
		ips := canonicalPrefixes(p.AllowedIPs)
		writeUint32(h, len(ips))
		for _, ip := range ips {
			a := ip.Addr().As16()
			h.Write([]byte{byte(familyOf(ip.Addr())), byte(ip.Bits())})
			h.Write(a[:])
		}
	}
	var g GUID
	copy(g[:], h.Sum(nil))
	g[6] = g[6]&0x0f | 0x50 // version 5: name-based
	g[8] = g[8]&0x3f | 0x80 // RFC 4122 variant
	return g
}

// canonicalPrefixes masks, unmaps, sorts and deduplicates ps: IPv4 first,
// then by address, shorter prefixes first.
func canonicalPrefixes(ps []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ps))
	for _, p := range ps {
		if !p.IsValid() {
			continue
		}
		out = append(out, netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapShift(p)).Masked())
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		return cmp.Or(a.Addr().Compare(b.Addr()), a.Bits()-b.Bits())
	})
	return slices.Compact(out)
}

func writeUint32(h hash.Hash, n int) {
	h.Write(binary.LittleEndian.AppendUint32(nil, uint32(n)))
}

func writeBytes(h hash.Hash, b []byte) {
	writeUint32(h, len(b))
	h.Write(b)
}
