#!/usr/bin/env bash
# The project's one test command (README.md): formatting, vet for every
# platform we build for, staticcheck, then every test. Tests that need root,
# TUN or network namespaces skip with a message when those are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$bad" ]; then
	echo "gofmt would change:"; echo "$bad"; exit 1
fi

echo "== go vet (linux, windows amd64 and arm64, darwin)"
go vet ./...
GOOS=windows GOARCH=amd64 go vet ./...
GOOS=windows GOARCH=arm64 go vet ./...
GOOS=darwin go vet ./...

if command -v staticcheck >/dev/null 2>&1; then
	echo "== staticcheck"
	staticcheck ./...
else
	echo "== staticcheck: not installed, skipped (go install honnef.co/go/tools/cmd/staticcheck@v0.8.2)"
fi

if command -v osslsigncode >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1 &&
	command -v wixl >/dev/null 2>&1 && command -v msiinfo >/dev/null 2>&1; then
	echo "== release: reproducible builds, signatures with RFC 3161 time stamps, version resources, MSIs (tables, files, install/uninstall under wine)"
	scripts/release-check.sh
elif [ -n "${CI:-}" ]; then
	echo "== release check: CI must run it, but osslsigncode, openssl, wixl or msitools is missing" >&2
	exit 1
else
	echo "== release check: osslsigncode, openssl, wixl or msitools missing, skipped"
fi

if command -v wine >/dev/null 2>&1 && { [ -n "${CI:-}" ] || [ "${WARREN_WINE_TESTS:-}" = 1 ]; }; then
	echo "== Windows tests under wine"
	scripts/wine-test.sh
else
	echo "== Windows tests under wine: skipped (needs wine, and CI or WARREN_WINE_TESTS=1)"
fi

echo "== go test"
go test -count=1 -timeout 25m "$@" ./...

# The engine and its seams again under the race detector: they are where
# goroutines share packets, sessions and keys.
echo "== go test -race (engine and seams)"
go test -race -count=1 -timeout 20m "$@" ./internal/noise ./internal/replay ./internal/routing ./internal/device \
	./internal/bind ./internal/tun ./internal/uapi ./internal/netstack ./internal/proxy

# The data plane's fallbacks: warren at both ends with every offload off
# (TUN vnet header, UDP GSO, UDP GRO), through the same end-to-end checks.
if [ "$(id -u)" = 0 ] && [ -e /dev/net/tun ]; then
	echo "== end-to-end with offloads off"
	WARREN_TUN_OFFLOAD=0 WARREN_UDP_GSO=0 WARREN_UDP_GRO=0 WARREN_E2E_IMPLS=warren \
		go test -count=1 -timeout 10m -run '^(TestPing|TestTransfer|TestJumboMTU|TestNATRoaming)$' ./test/e2e
fi

# A one-minute soak (scripts/soak.sh; its 30-minute run is quoted in
# README.md): two daemons with 1,000 peers each under traffic, UAPI churn and
# syncconf, judged on bytes, stalls, handshakes, resources and logs.
if [ "$(id -u)" = 0 ] && [ -e /dev/net/tun ]; then
	echo "== soak, 1 minute"
	scripts/soak.sh --minutes 1
elif [ -n "${CI:-}" ]; then
	echo "== soak: CI must run it, as root with /dev/net/tun" >&2
	exit 1
fi
