// Package selftest owns `warren selftest`: one command a user runs, as root
// or Administrator, to prove warren's data path on their own machine, with
// the same script on Linux and Windows.
//
// It makes a throwaway tunnel with fresh random keys between a real OS
// adapter (a TUN interface on Linux, a Wintun adapter on Windows) driven by
// warren's engine, and an in-process warren peer on the userspace network
// stack (internal/netstack via internal/proxy), the two engines talking
// over loopback UDP. It then asks the operating system, through its own
// network stack and the adapter, to ping the peer's tunnel addresses (IPv4,
// IPv6, and one full-MTU packet that may not be fragmented) and to fetch a
// page the peer serves (internal/peerweb; net/http over the OS's TCP), reads the adapter's
// addresses, routes and MTU back as the OS reports them (netlink on Linux,
// the IP Helper API on Windows), on Windows optionally engages the kill
// switch and compares the WFP filters it reads back with the plan, removes
// everything (also on failure or Ctrl-C), and prints a report a bug report
// can carry: OS and kernel, warren's version, wintun.dll's version and
// signer (Windows), offloads (Linux), MTU, and each check with what it saw
// or why it failed. The exit status is 0 only when no check failed.
//
// The throwaway addresses come from reserved ranges no host should route:
// a /30 from 198.18.0.0/15 (RFC 2544, benchmarking), else from
// 100.64.0.0/10 (RFC 6598, shared address space), and a /126 from a random
// fd00::/8 prefix (RFC 4193, unique local); a range that overlaps any route
// or address of the host (bar default routes) is not used.
//
// The platform-neutral script (selftest.go, checks.go), the report
// (report.go), the address choice (addrs.go) and the kill-switch comparison
// (rules.go) are pure or run against an injected host, so they are tested
// everywhere; host_linux.go and host_windows.go only translate the host
// interface into system calls.
package selftest
