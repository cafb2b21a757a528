// Package proxy owns `warren proxy`, rootless WireGuard for applications:
// a Tunnel (the engine on a userspace stack, configured from a wg0.conf),
// and the servers in front of it — SOCKS5 (RFC 1928/1929), an HTTP proxy
// (CONNECT and absolute-URI requests), and TCP/UDP port forwards in both
// directions — plus wireproxy's config sections ([Socks5], [http],
// [TCPClientTunnel], [TCPServerTunnel], [UDPProxyTunnel]) so that its
// configs work unchanged.
//
// It wires internal/netstack, internal/device and internal/bind together
// and reads files with internal/conf; it holds no protocol logic of
// WireGuard's. Every server stops its goroutines and connections on Close,
// and holds no more than its Limiter allows (connections, UDP flows and
// associations, in all and per client address), with copy buffers taken
// from pools only while data moves. A connection through a peer that has
// no session fails after a short handshake wait (3 s) rather than the
// dial timeout, saying that the peer has not answered a handshake and how
// many were tried (counted at the Bind, as they leave). What clients are
// told of a failure names no peer key or endpoint; the log does.
package proxy
