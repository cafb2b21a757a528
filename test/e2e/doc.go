// Package e2e holds warren's end-to-end tests: real daemons (warren's and
// the reference wireguard-go) run inside network namespaces that each test
// creates, are configured with Debian's wg(8), wg-quick(8) and ip(8), and
// must carry real traffic between each other.
//
// Every scenario runs for each ordered pair of implementations (the first
// initiates or serves, as the test says): reference<->reference is the
// harness's own control, warren<->reference runs in both directions, and
// warren<->warren closes the set. The scenarios: ping over IPv4, IPv6 and
// link-local outer endpoints (ping_test.go); 64 MiB SHA-256-checked
// transfers (transfer_test.go); NAT and roaming (nat_test.go); longest
// prefix AllowedIPs (allowedips_test.go); jumbo MTU (mtu_test.go); the
// interface moved to another namespace (netns_test.go); shutdown by signal,
// link deletion or socket removal (shutdown_test.go); what must not get
// through (cryptokey_test.go); reconfiguration under traffic
// (reconfigure_test.go); restarts and collisions (restart_test.go); a
// lossy link (loss_test.go); hub and spokes (hub_test.go); UAPI under load
// (uapiload_test.go); detaching and Debian's wg-quick (daemonize_test.go);
// and parity of warren's tools with Debian's: show (show_test.go), set
// and the conf commands (setconf_test.go), up and down (quick_test.go).
//
// The tests are Linux-only and need root, /dev/net/tun, ip, wg and ping
// (iputils-ping), some also nft and wg-quick; they skip with a message
// naming what is missing otherwise, and under -short. scripts/e2e.sh
// installs the packages and runs the suite. WARREN_E2E_IMPLS (e.g. "ref"
// or "warren,ref") restricts which implementations take part. Pairs
// involving warren are skipped, not failed, while `warren daemon` reports
// "not implemented"; once it exists, failures are real.
// WARREN_E2E_WARREN_BIN names a prebuilt warren binary to test instead of
// building ./cmd/warren.
//
// All traffic stays inside namespaces named wre2e-<pid>-*, on addresses in
// 10.77.0.0/16 and 10.78.0.0/16 (outer and inner IPv4) and fd77::/16,
// fd78::/16 and fe80::/64 on the test's own veths (outer and inner IPv6),
// and everything a test creates (namespaces, daemons, UAPI sockets) is
// removed when it ends. Interface names (we<pid>x<n>) are unique across
// the machine because the UAPI socket directory is not namespaced.
package e2e
