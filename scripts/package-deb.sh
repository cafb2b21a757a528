#!/usr/bin/env bash
# Build warren's Debian packages from built Linux binaries:
#
#   scripts/package-deb.sh VERSION OUTDIR ARCH=BINARY...
#   scripts/package-deb.sh 0.1.0+20261126075300 dist amd64=dist/warren-0.1.0+20261126075300-linux-amd64 \
#                                                    arm64=dist/warren-0.1.0+20261126075300-linux-arm64
#
# writes OUTDIR/warren_DEBVERSION_ARCH.deb for each ARCH (amd64, arm64),
# DEBVERSION being VERSION with '-' turned into '~' (0.1.0-dev becomes
# 0.1.0~dev, which sorts before 0.1.0). Each package holds:
#
#   /usr/bin/warren
#   /usr/share/man/man8/warren.8.gz, warren-GROUP.8.gz   made by scripts/genman
#       from the binary's own --help texts (one binary that runs here is
#       used for all: the texts do not depend on the architecture)
#   /usr/share/bash-completion/completions/warren, /usr/share/zsh/vendor-completions/_warren
#   /lib/systemd/system/warren@.service, warren.target, warren-manager.service
#       (those of dist/ that exist)
#   /usr/share/doc/warren/copyright, changelog.gz
#   /usr/share/lintian/overrides/warren (a static binary is meant)
#
# and offers /usr/bin/wg and /usr/bin/wg-quick (with their man pages) as
# alternatives pointing at warren, at a low priority. update-alternatives
# never replaces a real file, so with wireguard-tools installed its wg and
# wg-quick stay as they are; a file trigger on those paths puts warren's
# links in when wireguard-tools goes away, and removing warren removes
# only warren's links.
#
# Reproducible: every file's time is SOURCE_DATE_EPOCH (default: the
# newest commit's time, else 0), owners are root, gzip stores no name or
# time. Needs dpkg-deb, gzip and go (for scripts/genman). The maintainer
# field is $WARREN_DEB_MAINTAINER (default below).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "package-deb: $*" >&2; exit 1; }
[ $# -ge 3 ] || die "usage: scripts/package-deb.sh VERSION OUTDIR ARCH=BINARY..."
version=$1 outdir=$2
shift 2
case "$version" in
'' | *[!A-Za-z0-9.+~-]* | [!0-9]*) die "version $version: must start with a digit and hold only letters, digits and . + ~ -" ;;
esac
debversion=${version//-/\~}
maintainer=${WARREN_DEB_MAINTAINER:-warren developers <warren@warren-vpn.example>}
for tool in dpkg-deb gzip go; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is needed (Debian: apt-get install dpkg-dev gzip golang)"
done
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 0)
fi
export SOURCE_DATE_EPOCH

declare -A binaries
for pair in "$@"; do
	arch=${pair%%=*} bin=${pair#*=}
	case "$arch" in amd64 | arm64) ;; *) die "architecture $arch: amd64 or arm64" ;; esac
	[ -f "$bin" ] && [ -x "$bin" ] || die "$bin: not an executable file"
	binaries[$arch]=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
done
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The man pages, from whichever binary runs on this machine.
runnable=
for arch in "${!binaries[@]}"; do
	if "${binaries[$arch]}" version >/dev/null 2>&1; then
		runnable=${binaries[$arch]}
		break
	fi
done
[ -n "$runnable" ] || die "none of the binaries runs on this machine: the man pages are made from one's --help"
got=$("$runnable" version | sed -n '1s/^warren v//p')
[ "$got" = "$version" ] || die "$runnable says it is version $got, not $version"
go run ./scripts/genman -warren "$runnable" -o "$tmp/man"

# stage ARCH DIR: the package's tree for ARCH in DIR.
stage() {
	local arch=$1 root=$2
	install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/man/man8" \
		"$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
		"$root/usr/share/doc/warren"
	install -m 0755 "${binaries[$arch]}" "$root/usr/bin/warren"
	local page
	for page in "$tmp/man"/*.8; do
		gzip -9n <"$page" >"$root/usr/share/man/man8/$(basename "$page").gz"
	done
	install -m 0644 dist/completion/warren.bash "$root/usr/share/bash-completion/completions/warren"
	install -m 0644 dist/completion/_warren "$root/usr/share/zsh/vendor-completions/_warren"
	local unit
	for unit in warren@.service warren.target warren-manager.service; do
		if [ -f "dist/$unit" ]; then
			install -d "$root/lib/systemd/system"
			install -m 0644 "dist/$unit" "$root/lib/systemd/system/$unit"
		fi
	done
	install -d "$root/usr/share/lintian/overrides"
	# Go links statically, on purpose: one binary that runs anywhere.
	echo "warren: statically-linked-binary [usr/bin/warren]" >"$root/usr/share/lintian/overrides/warren"
	chmod 0644 "$root/usr/share/lintian/overrides/warren"
	copyright >"$root/usr/share/doc/warren/copyright"
	chmod 0644 "$root/usr/share/doc/warren/copyright"
	changelog | gzip -9n >"$root/usr/share/doc/warren/changelog.gz"
	control "$arch" "$root" >"$root/DEBIAN/control"
	maintscripts "$root/DEBIAN"
	(cd "$root" && find usr $([ -d lib ] && echo lib) -type f | LC_ALL=C sort | xargs md5sum) >"$root/DEBIAN/md5sums"
	chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums" "$root/DEBIAN/triggers"
	find "$root" -type d -exec chmod 0755 {} +
	find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

copyright() {
	cat <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: warren
Source: https://github.com/warren-vpn/warren

Files: *
Copyright: $(date -u -d "@$SOURCE_DATE_EPOCH" +%Y) the warren developers
EOF
	if [ -f LICENSE ]; then
		echo "License: see below"
		sed 's/^$/./; s/^/ /' LICENSE
	else
		echo "License: not stated"
		echo " The source tree of this version has no LICENSE file."
	fi
}

changelog() {
	cat <<EOF
warren ($debversion) unstable; urgency=medium

  * Built from warren $version by scripts/package-deb.sh.

 -- $maintainer  $(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")
EOF
}

control() {
	local arch=$1 root=$2 size
	size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
	cat <<EOF
Package: warren
Version: $debversion
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Section: net
Priority: optional
Recommends: nftables | iptables
Suggests: openresolv | systemd-resolved
Homepage: https://github.com/warren-vpn/warren
Description: WireGuard in one binary: userspace device, wg and wg-quick tools
 warren is an independent implementation of the WireGuard VPN, with the
 tools around it in one static binary: a userspace device with a UAPI
 socket (warren daemon, as wireguard-go), the wg command set, the wg-quick
 commands (warren up and down, and the warren@.service unit), and a
 SOCKS5/HTTP proxy on a userspace TCP/IP stack that needs no root.
 .
 The names wg and wg-quick are offered as alternatives pointing at warren;
 wireguard-tools' own programs, when installed, are never replaced.
EOF
}

maintscripts() {
	local d=$1
	cat >"$d/postinst" <<'EOF'
#!/bin/sh
# Offers wg and wg-quick as alternatives pointing at warren. A real file at
# either path (wireguard-tools') is never replaced: update-alternatives
# leaves it. The file trigger on those paths runs this again when a
# package adds or removes them.
set -e
alternatives() {
	update-alternatives $1 --install /usr/bin/wg wg /usr/bin/warren 10 \
		--slave /usr/share/man/man8/wg.8.gz wg.8.gz /usr/share/man/man8/warren-wg.8.gz
	update-alternatives $1 --install /usr/bin/wg-quick wg-quick /usr/bin/warren 10 \
		--slave /usr/share/man/man8/wg-quick.8.gz wg-quick.8.gz /usr/share/man/man8/warren-quick.8.gz
}
case "$1" in
configure | abort-upgrade | abort-remove | abort-deconfigure)
	alternatives ""
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
	fi
	;;
triggered)
	alternatives --quiet
	;;
esac
exit 0
EOF
	cat >"$d/prerm" <<'EOF'
#!/bin/sh
# Removes warren's alternatives (and only them) unless upgrading.
set -e
if [ "$1" = remove ] || [ "$1" = deconfigure ]; then
	update-alternatives --remove wg /usr/bin/warren
	update-alternatives --remove wg-quick /usr/bin/warren
fi
exit 0
EOF
	cat >"$d/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null || true
fi
exit 0
EOF
	cat >"$d/triggers" <<'EOF'
interest-noawait /usr/bin/wg
interest-noawait /usr/bin/wg-quick
EOF
	chmod 0755 "$d/postinst" "$d/prerm" "$d/postrm"
}

for arch in $(printf '%s\n' "${!binaries[@]}" | sort); do
	root=$tmp/root-$arch
	stage "$arch" "$root"
	deb=$outdir/warren_${debversion}_$arch.deb
	dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
	echo "package-deb: $deb"
done
