#!/usr/bin/env bash
# Runs warren's end-to-end tests (test/e2e): real daemons, warren's and the
# reference wireguard-go, in network namespaces. Needs root and /dev/net/tun.
# Installs the Debian packages the tests use when they are missing, then
# passes its arguments to go test, e.g.:
#   scripts/e2e.sh -run TestPing -v
#   WARREN_E2E_IMPLS=ref scripts/e2e.sh      # the reference alone (control)
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for tool in ip:iproute2 wg:wireguard-tools wg-quick:wireguard-tools ping:iputils-ping nft:nftables; do
	command -v "${tool%%:*}" >/dev/null || need+=("${tool##*:}")
done
if ((${#need[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "e2e: missing ${need[*]} and not root to install them" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

exec go test -count=1 -timeout 15m "$@" ./test/e2e/
