// Package e2e holds warren's end-to-end tests: real daemons (warren's and
// the reference wireguard-go) run inside network namespaces that each test
// creates, are configured with Debian's wg(8) and ip(8), and must carry
// real traffic between each other.
//
// The tests are Linux-only and need root, /dev/net/tun, ip, wg and ping
// (iputils-ping), some also nft and wg-quick; they skip with a message
// naming what is missing otherwise. scripts/e2e.sh installs the packages
// and runs the suite. Every scenario runs
// for each pair of implementations: reference<->reference is the harness's
// own control, warren<->reference runs in both directions, and
// warren<->warren closes the set. WARREN_E2E_IMPLS (e.g. "ref" or
// "warren,ref") restricts which implementations take part. Pairs involving
// warren are skipped, not failed, while `warren daemon` reports "not
// implemented"; once it exists, failures are real. WARREN_E2E_WARREN_BIN
// names a prebuilt warren binary to test instead of building ./cmd/warren.
//
// All traffic stays inside namespaces named wre2e-<pid>-*, on addresses in
// 10.77.0.0/16 and 10.78.0.0/16 (outer and inner IPv4) and fd77::/16 and
// fd78::/16 (outer and inner IPv6), and everything a test creates
// (namespaces, daemons, UAPI sockets) is removed when it ends.
package e2e
