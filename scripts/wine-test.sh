#!/usr/bin/env bash
# Runs Windows builds of Go tests under Debian's wine:
#
#   scripts/wine-test.sh [go test flags, as -flag=value] [packages]
#
# It makes a throwaway wine prefix with the ProcessPrng shim
# (scripts/wine/prefix.sh, processprng.c) and runs
# `GOOS=windows go test -exec <wine wrapper>`. Without packages it runs
# WARREN_WINE_PKGS, the packages whose Windows-side logic needs no driver
# and no UDP (internal/bind, all UDP, is left out). Set WARREN_WINEPREFIX to reuse a prefix between runs.
#
# Two things about wine (8.0, bookworm) the tests live with:
#   - its Winsock lacks an ioctl Go's UDP sockets use: no UDP under wine;
#   - it cannot enumerate named pipes (FindFirstFile on \\.\pipe\*), and
#     answers NtSetInformationFile(FileDispositionInformationEx) with
#     STATUS_NOT_IMPLEMENTED, which Go 1.26's os.RemoveAll does not expect
#     (every t.TempDir cleanup would fail). For the latter, the test build
#     gets an -overlay of Go's internal/syscall/windows/at_windows.go that
#     also falls back on STATUS_NOT_IMPLEMENTED, as it does on
#     STATUS_NOT_SUPPORTED; the file is derived from this machine's GOROOT
#     at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${WARREN_WINE_PKGS:=./internal/uapi ./internal/winsvc ./internal/wgcmd ./internal/wintunnel ./internal/winnet ./internal/tun ./internal/winacl ./internal/ringlog ./internal/selftest ./internal/history ./internal/metrics ./internal/manager ./internal/webui}"
# Tests that cannot pass under wine: they list interfaces (no pipe
# enumeration) or compare wine's error texts with Windows' or unix's.
: "${WARREN_WINE_SKIP:=^(TestMainDispatch|TestInterfacesAcrossDirs|TestSetconfMissingFile)\$}"

# The prefix, with the ProcessPrng shim: $work and $prefix.
. scripts/wine/prefix.sh
wine_setup wine-test

# The os.RemoveAll fallback (see above), as an overlay of GOROOT's file.
at="$(go env GOROOT)/src/internal/syscall/windows/at_windows.go"
overlay=()
if grep -q 'STATUS_NOT_SUPPORTED:     // the file system' "$at"; then
	sed 's|STATUS_NOT_SUPPORTED:     // the file system|STATUS_NOT_SUPPORTED, NTStatus(0xC0000002): // (wine: STATUS_NOT_IMPLEMENTED) the file system|' \
		"$at" >"$work/at_windows.go"
	printf '{"Replace":{"%s":"%s"}}\n' "$at" "$work/at_windows.go" >"$work/overlay.json"
	overlay=(-overlay "$work/overlay.json")
else
	echo "wine-test: $at has changed; t.TempDir cleanups may fail under wine" >&2
fi

# The test's output goes through a file: processes wine starts on demand
# (services.exe, winedevice.exe, a service a test started) inherit the
# test's standard handles and may outlive it, and go test, seeing its pipe
# still open, would fail the package ("Test I/O incomplete") although the
# test passed.
cat >"$work/wine-exec" <<'EOS'
#!/bin/sh
out=$(mktemp "${TMPDIR:-/tmp}/warren-wine-out.XXXXXX")
wine "$@" >"$out" 2>&1 </dev/null
rc=$?
cat "$out"
rm -f "$out"
exit $rc
EOS
chmod +x "$work/wine-exec"

flags=() pkgs=()
for a in "$@"; do
	case "$a" in
	-*) flags+=("$a") ;;
	*) pkgs+=("$a") ;;
	esac
done
if [ ${#pkgs[@]} -eq 0 ]; then
	read -r -a pkgs <<<"$WARREN_WINE_PKGS"
fi
existing=()
for p in "${pkgs[@]}"; do
	if [ -d "$p" ]; then existing+=("$p"); else echo "wine-test: $p does not exist yet, skipped" >&2; fi
done

echo "wine-test: $(wine --version) running ${existing[*]}"
GOOS=windows GOARCH=amd64 go test "${overlay[@]}" -exec "$work/wine-exec" -count=1 -timeout 5m \
	-skip="$WARREN_WINE_SKIP" "${flags[@]}" "${existing[@]}"
