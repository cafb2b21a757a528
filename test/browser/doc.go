// Package browser holds the browser tests of `warren manager`: Debian's
// Chromium, headless and driven from Go through the DevTools protocol
// (chromedp, over a pipe), uses the manager's web UI as a person would,
// against real tunnels.
//
// The test (browser_linux_test.go) runs as root. It builds warren and the
// reference implementation (wireguard-go, from the module cache) and
// creates three network namespaces, removed when it ends whatever
// happens: "hub" runs `warren manager` and Chromium, and the manager's
// tunnel; "ref" runs wireguard-go, the tunnel's first peer; "phone" brings
// up, with `warren up`, the configuration of a client the UI adds. Through
// the UI it logs in with the one-time setup link, logs out and in, imports
// a configuration (and sees the line of a bad one), activates the tunnel,
// sees the handshake's age and a live graph move while iperf3 runs through
// the tunnel, reads the logs, adds a client and decodes its QR code from a
// screenshot with zbarimg, restarts the manager and finds the traffic
// history, and checks the security points in the browser itself: no
// session gives the login page, a cross-origin POST and a foreign Host are
// refused, a name made of HTML stays text, secrets are never cacheable.
//
// It needs root, /dev/net/tun, ip, wg, iperf3, zbarimg (zbar-tools) and
// chromium; it skips naming what is missing, or fails when CI is set.
// WARREN_SCREENSHOTS=DIR (relative to the repository's root) saves
// screenshots of the main pages there as PNG, with the tunnel named
// "office" and half a minute of traffic on its graphs; docs/screenshots
// holds the ones the README shows.
package browser
