// Package metrics exposes the WireGuard interfaces the manager sees in the
// Prometheus text format, with the metric names, types, help texts and
// labels of prometheus_wireguard_exporter (MindFlavor's, 3.6), so that
// dashboards built for it work unchanged:
//
//	wireguard_sent_bytes_total          counter  Bytes sent to the peer
//	wireguard_received_bytes_total      counter  Bytes received from the peer
//	wireguard_latest_handshake_seconds  gauge    UNIX timestamp seconds of the last handshake
//
// each with the labels interface, public_key, allowed_ips (the peer's
// allowed IPs joined by commas as `wg show all dump` prints them, "(none)"
// for none) and, for a peer that has a name, friendly_name; plus the Go
// runtime's and the process's own metrics from the client library.
//
// A Collector reads a Snapshot from its Source when scraped: nothing is
// counted on the data path. Server serves /metrics, /healthz (the process
// answers) and /readyz (the source answered recently) on one listener, with
// the bind policy: a loopback address needs no credentials, any other
// address needs a bearer token read from a file, compared in constant time.
//
// The package owns the exposition and its HTTP endpoint. It imports
// internal/wgtypes (the peer snapshot), internal/conf (to spell allowed IPs
// as wg does) and the Prometheus client library;
// never the engine, gVisor, the manager or the web UI, and the engine, the
// wg commands and the daemon never import it.
package metrics
