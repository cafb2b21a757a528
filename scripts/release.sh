#!/usr/bin/env bash
# Build warren's release: reproducible binaries, Windows installers (MSI),
# Authenticode signatures with RFC 3161 time stamps, SHA256SUMS.
#
#   scripts/release.sh [--self-signed-test] [--out DIR] [--commit REV | --worktree]
#                      [--targets "linux/amd64 windows/arm64 ..."]
#
# It builds a committed tree (REV, default HEAD, exported with git archive),
# so edits in the working tree never leak into a release; --worktree builds
# a copy of the working tree as it is instead (also the fallback outside a
# git checkout). Nothing is written into the source tree.
#
# Targets: linux/amd64, linux/arm64, windows/amd64, windows/arm64; each
# Windows target also gives an MSI. Reproducible: CGO_ENABLED=0, -trimpath,
# -buildvcs=false, an empty build id, no symbol tables, and a version
# derived from SOURCE_DATE_EPOCH (default: the commit time of REV), never
# from the clock. The version and commit reach `warren version` through
# -ldflags -X (internal/buildinfo). Windows exes get a VERSIONINFO and an
# application manifest, generated as .syso by scripts/winres.
#
# Signing (osslsigncode): the certificate (PEM, leaf first, chain after) and
# the private key (PEM) come from WARREN_SIGN_CERT and WARREN_SIGN_KEY (file
# paths); WARREN_SIGN_PASS is the key's passphrase when it has one. Every
# signature (both exes, both MSIs) carries an RFC 3161 time stamp from the
# service at WARREN_TSA_URL, so it stays valid after the certificate
# expires; WARREN_TSA_CAFILE is the root to verify the time stamps with
# (default: the system's roots). With --self-signed-test, a missing
# certificate is replaced by a throwaway self-signed one, and a missing
# WARREN_TSA_URL by a throwaway local time-stamping authority (scripts/tsa),
# for this run only. Without them, the script refuses: an unsigned or
# untimestamped Windows release is never produced by accident.
#
# Reproducible, and signed: a time stamp is taken when the file is signed,
# so two builds' signed exes and MSIs differ in their signatures, and only
# there. With the signature removed (osslsigncode remove-signature), two
# builds of one commit are identical; scripts/release-check.sh checks that.
#
# Installers: warren-VERSION-windows-ARCH.msi (msitools' wixl; amd64 and
# arm64) install warren.exe per machine into Program Files\warren, add that
# folder to the system PATH, and on uninstall run `warren service uninstall
# --all` before the files go. WINTUN_DLL names a directory holding
# amd64/wintun.dll and arm64/wintun.dll (wintun's zip has it as wintun/bin);
# each MSI carries its architecture's DLL when there is one, and the build
# says plainly when it does not.
#
# The Linux binaries are also packaged as warren_VERSION_ARCH.deb
# (scripts/package-deb.sh); --no-deb leaves that out (the release check
# does: scripts/debtest tests the packages).
#
# Output (DIR, default dist/): warren-VERSION-GOOS-GOARCH[.exe],
# warren-VERSION-windows-ARCH.msi, warren_VERSION_ARCH.deb, VERSION,
# SHA256SUMS (sha256sum format, sorted by name).
set -euo pipefail
cd "$(dirname "$0")/.."

out=dist
self_signed=0
worktree=0
rev=HEAD
deb=1
targets="linux/amd64 linux/arm64 windows/amd64 windows/arm64"
while [ $# -gt 0 ]; do
	case "$1" in
	--self-signed-test) self_signed=1 ;;
	--out) out="$2"; shift ;;
	--out=*) out="${1#--out=}" ;;
	--worktree) worktree=1 ;;
	--commit) rev="$2"; shift ;;
	--commit=*) rev="${1#--commit=}" ;;
	--no-deb) deb=0 ;;
	--targets) targets="$2"; shift ;;
	--targets=*) targets="${1#--targets=}" ;;
	-h|--help) sed -n '2,52p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "release: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

die() { echo "release: $*" >&2; exit 1; }
for tool in go osslsigncode openssl sha256sum wixl msibuild msiinfo; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is needed (Debian: apt-get install osslsigncode openssl wixl msitools)"
done
for t in $targets; do
	case "$t" in
	linux/amd64|linux/arm64|windows/amd64|windows/arm64) ;;
	*) die "unknown target $t" ;;
	esac
done

tmp=$(mktemp -d)
tsa_pid=
cleanup() {
	[ -z "$tsa_pid" ] || kill "$tsa_pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# The source: a commit exported with git archive, or a copy of the working
# tree. The .syso files are generated into it, never into the checkout.
src=$tmp/src
mkdir -p "$src"
modified=
if [ "$worktree" = 0 ] && git rev-parse --verify -q "$rev^{commit}" >/dev/null 2>&1; then
	commit=$(git rev-parse "$rev^{commit}")
	git archive --format=tar "$commit" | tar -x -C "$src"
	echo "release: building commit ${commit:0:12}"
else
	commit=$(git rev-parse --verify -q 'HEAD^{commit}' 2>/dev/null || true)
	if [ -n "$commit" ]; then
		git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -c -f - 2>/dev/null | tar -x -C "$src"
		[ -z "$(git status --porcelain 2>/dev/null)" ] || modified=true
	else
		tar -c -f - --exclude=./.git --exclude="./$out" . | tar -x -C "$src"
	fi
	echo "release: building the working tree${commit:+ (on ${commit:0:12}${modified:+, modified})}"
fi

# Version: the base version of the source plus the UTC date and time of
# SOURCE_DATE_EPOCH, so a rebuild of the same commit names itself the same.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct "$rev" 2>/dev/null || true)
	[ -n "$SOURCE_DATE_EPOCH" ] || die "SOURCE_DATE_EPOCH is unset and there is no git commit to take it from"
fi
export SOURCE_DATE_EPOCH
base=$(sed -n 's/^const Base = "\(.*\)"$/\1/p' "$src/internal/buildinfo/buildinfo.go")
[ -n "$base" ] || die "cannot read the version constant Base from internal/buildinfo/buildinfo.go"
version="$base+$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d%H%M%S)"
msi_version=${base%%[-+]*}
[[ "$msi_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "version $base does not start with MAJOR.MINOR.PATCH"

# The signing identity.
cert=${WARREN_SIGN_CERT:-}
key=${WARREN_SIGN_KEY:-}
if [ -z "$cert" ]; then
	[ "$self_signed" = 1 ] || die "WARREN_SIGN_CERT and WARREN_SIGN_KEY must name the code-signing certificate and key (or pass --self-signed-test)"
	cert=$tmp/test-cert.pem
	key=$tmp/test-key.pem
	openssl req -x509 -newkey rsa:3072 -nodes -sha256 -days 30 \
		-subj "/CN=warren release test (throwaway)" \
		-addext "keyUsage=critical,digitalSignature" \
		-addext "extendedKeyUsage=codeSigning" \
		-keyout "$key" -out "$cert" 2>/dev/null || die "openssl could not make a test certificate"
	echo "release: signing with a throwaway self-signed certificate (test only)"
fi
[ -r "$cert" ] || die "certificate $cert is not readable"
[ -n "$key" ] && [ -r "$key" ] || die "WARREN_SIGN_KEY must name a readable private key"
passargs=()
[ -n "${WARREN_SIGN_PASS:-}" ] && passargs=(-pass "$WARREN_SIGN_PASS")

# The signing time in the signature itself must fall inside the
# certificate's validity; take SOURCE_DATE_EPOCH, or the certificate's
# start when that is later (a fresh certificate for an old commit). The
# time stamp, not this, is what Windows trusts.
not_before=$(date -u -d "$(openssl x509 -in "$cert" -noout -startdate | cut -d= -f2)" +%s)
sign_time=$SOURCE_DATE_EPOCH
[ "$not_before" -le "$sign_time" ] || sign_time=$((not_before + 1))

# CA bundle for verification: the certificate file itself (it carries the
# chain; for the test certificate it is the root), plus the system roots.
cafile=$tmp/ca.pem
cat "$cert" > "$cafile"
[ -r /etc/ssl/certs/ca-certificates.crt ] && cat /etc/ssl/certs/ca-certificates.crt >> "$cafile"

# Helpers, built from the source being released.
mkdir -p "$tmp/bin"
go build -C "$src" -o "$tmp/bin/winres" ./scripts/winres || die "cannot build scripts/winres"

# The time-stamping authority.
tsa_url=${WARREN_TSA_URL:-}
tsa_cafile=${WARREN_TSA_CAFILE:-/etc/ssl/certs/ca-certificates.crt}
if [ -z "$tsa_url" ]; then
	[ "$self_signed" = 1 ] || die "WARREN_TSA_URL must name an RFC 3161 time-stamping service (or pass --self-signed-test)"
	go build -C "$src" -o "$tmp/bin/tsa" ./scripts/tsa || die "cannot build scripts/tsa"
	"$tmp/bin/tsa" -dir "$tmp/tsa" -url-file "$tmp/tsa.url" 2>"$tmp/tsa.log" &
	tsa_pid=$!
	for _ in $(seq 300); do [ -s "$tmp/tsa.url" ] && break; kill -0 "$tsa_pid" 2>/dev/null || break; sleep 0.1; done
	[ -s "$tmp/tsa.url" ] || { cat "$tmp/tsa.log" >&2; die "the local time-stamping authority did not start"; }
	tsa_url=$(cat "$tmp/tsa.url")
	tsa_cafile=$tmp/tsa/ca.crt
	echo "release: time stamps from a throwaway local authority at $tsa_url (test only)"
fi
[ -r "$tsa_cafile" ] || die "WARREN_TSA_CAFILE $tsa_cafile is not readable"

# sign IN OUT: Authenticode signature with an RFC 3161 time stamp, then a
# verification that checks both (osslsigncode verifies the certificate at
# the time stamp's time).
sign() {
	local in=$1 o=$2 name
	name=$(basename "$o")
	osslsigncode sign -certs "$cert" -key "$key" "${passargs[@]}" \
		-h sha256 -n warren -i https://github.com/warren-vpn/warren \
		-time "$sign_time" -ts "$tsa_url" -in "$in" -out "$o" >"$tmp/sign.log" 2>&1 \
		|| { cat "$tmp/sign.log" >&2; die "osslsigncode could not sign and time-stamp $name"; }
	osslsigncode verify -CAfile "$cafile" -TSA-CAfile "$tsa_cafile" -in "$o" >"$tmp/verify.log" 2>&1 \
		|| { cat "$tmp/verify.log" >&2; die "signature of $name does not verify"; }
	grep -q '^Timestamp Server Signature verification: ok' "$tmp/verify.log" \
		|| { cat "$tmp/verify.log" >&2; die "$name has no valid time stamp"; }
	echo "release: signed, time-stamped and verified $name"
}

# guid TEXT: a GUID derived from TEXT (the same text, the same GUID).
guid() {
	local h
	h=$(printf '%s' "$1" | sha256sum | cut -c1-32 | tr a-f A-F)
	echo "${h:0:8}-${h:8:4}-5${h:13:3}-8${h:17:3}-${h:20:12}"
}

# wintun.dll for an architecture, when WINTUN_DLL has one.
wintun_for() {
	local arch=$1 dll
	[ -n "${WINTUN_DLL:-}" ] || return 0
	dll=$WINTUN_DLL/$arch/wintun.dll
	[ -f "$dll" ] || return 0
	local m
	m=$("$tmp/bin/winres" machine -dll "$dll") || die "WINTUN_DLL: $dll is not a Windows DLL"
	[ "$m" = "$arch" ] || die "WINTUN_DLL: $dll is for $m, not $arch"
	echo "$dll"
}
if [ -z "${WINTUN_DLL:-}" ]; then
	echo "release: WINTUN_DLL is not set: the MSIs carry no wintun.dll (warren needs one beside warren.exe to create tunnels)"
else
	[ -d "$WINTUN_DLL" ] || die "WINTUN_DLL=$WINTUN_DLL is not a directory (want one with amd64/wintun.dll and arm64/wintun.dll)"
fi

# msi ARCH EXE OUT: the installer for one architecture.
msi() {
	local arch=$1 exe=$2 o=$3 dll stage wxs=() defs=() tmpl
	stage=$tmp/msi-$arch
	mkdir -p "$stage"
	cp "$exe" "$stage/warren.exe"
	dll=$(wintun_for "$arch")
	if [ -n "$dll" ]; then
		cp "$dll" "$stage/wintun.dll"
		wxs=(warren.wxs wintun.wxs)
		defs=(-D WintunDll=wintun.dll)
		echo "release: the $arch MSI carries $dll"
	else
		wxs=(warren.wxs nowintun.wxs)
		[ -z "${WINTUN_DLL:-}" ] || echo "release: WINTUN_DLL has no $arch/wintun.dll: the $arch MSI carries no wintun.dll"
	fi
	# wixl takes Source paths relative to the .wxs files (absolute ones it
	# refuses), so everything goes into one folder. The cabinet records each
	# file's time: make it SOURCE_DATE_EPOCH's.
	cp "$src"/scripts/msi/*.wxs "$stage/"
	touch -d "@$SOURCE_DATE_EPOCH" "$stage"/*
	(cd "$stage" && wixl -a x64 -D "ProductCode=$(guid "warren product $version $arch")" \
		-D "ProductVersion=$msi_version" -D Exe=warren.exe "${defs[@]}" \
		-o warren.msi "${wxs[@]}") >"$tmp/wixl.log" 2>&1 \
		|| { cat "$tmp/wixl.log" >&2; die "wixl could not build the $arch MSI"; }
	# What wixl (0.101) cannot say: the PATH entry (Environment table and
	# its two standard actions), upgrades between builds of one version
	# (msidbUpgradeAttributesVersionMaxInclusive, as WiX's
	# AllowSameVersionUpgrades), the Template for arm64 (wixl knows no
	# Arm64) and a package code derived from the contents instead of a
	# random one.
	local upgrade
	upgrade=$(msiinfo export "$stage/warren.msi" Property | awk -F'\t' '$1 == "UpgradeCode" {print toupper($2)}')
	local q=(
		"CREATE TABLE \`Environment\` (\`Environment\` CHAR(72) NOT NULL, \`Name\` CHAR(255) NOT NULL LOCALIZABLE, \`Value\` CHAR(255) LOCALIZABLE, \`Component_\` CHAR(72) NOT NULL PRIMARY KEY \`Environment\`)"
		"INSERT INTO \`Environment\` (\`Environment\`, \`Name\`, \`Value\`, \`Component_\`) VALUES ('WarrenPath', '=-*PATH', '[~];[INSTALLDIR]', 'WarrenExe')"
		"INSERT INTO \`InstallExecuteSequence\` (\`Action\`, \`Sequence\`) VALUES ('RemoveEnvironmentStrings', 3300)"
		"INSERT INTO \`InstallExecuteSequence\` (\`Action\`, \`Sequence\`) VALUES ('WriteEnvironmentStrings', 5200)"
		"DELETE FROM \`Upgrade\` WHERE \`ActionProperty\` = 'WIX_UPGRADE_DETECTED'"
		"INSERT INTO \`Upgrade\` (\`UpgradeCode\`, \`VersionMax\`, \`Attributes\`, \`ActionProperty\`) VALUES ('$upgrade', '$msi_version', 513, 'WIX_UPGRADE_DETECTED')"
	)
	local qargs=()
	for query in "${q[@]}"; do qargs+=(-q "$query"); done
	msibuild "$stage/warren.msi" "${qargs[@]}" >"$tmp/msibuild.log" 2>&1 \
		|| { cat "$tmp/msibuild.log" >&2; die "msibuild could not add the PATH entry and upgrade rule to the $arch MSI"; }
	tmpl="x64;1033"
	[ "$arch" = arm64 ] && tmpl="Arm64;1033"
	local payload files=(warren.exe)
	[ -z "$dll" ] || files+=(wintun.dll)
	payload=$(cd "$stage" && sha256sum "${files[@]}" | sha256sum | cut -c1-64)
	msibuild "$stage/warren.msi" -s warren "The warren authors" "$tmpl" "{$(guid "warren package $version $arch $payload")}" \
		>"$tmp/msibuild.log" 2>&1 || { cat "$tmp/msibuild.log" >&2; die "msibuild could not set the $arch MSI's summary"; }
	sign "$stage/warren.msi" "$o"
}

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out"/warren-* "$out"/warren_*.deb "$out"/SHA256SUMS "$out"/VERSION

export CGO_ENABLED=0
pkg=github.com/warren-vpn/warren/internal/buildinfo
ldflags="-buildid= -s -w -X $pkg.version=$version -X $pkg.commit=$commit -X $pkg.modified=$modified"
for target in $targets; do
	goos=${target%/*} goarch=${target#*/}
	name=warren-$version-$goos-$goarch
	[ "$goos" = windows ] && name=$name.exe
	if [ "$goos" = windows ]; then
		"$tmp/bin/winres" syso -arch "$goarch" -version "$version" -o "$src/cmd/warren/rsrc_windows_$goarch.syso" \
			|| die "cannot make the Windows resources for $goarch"
	fi
	echo "release: build $name"
	GOOS=$goos GOARCH=$goarch go build -C "$src" -trimpath -buildvcs=false \
		-ldflags="$ldflags" -o "$tmp/$name" ./cmd/warren
	if [ "$goos" = windows ]; then
		"$tmp/bin/winres" check -arch "$goarch" -version "$version" "$tmp/$name" >/dev/null \
			|| die "$name lacks warren's version resource or manifest"
		sign "$tmp/$name" "$out/$name"
		msi "$goarch" "$out/$name" "$out/warren-$version-windows-$goarch.msi"
	else
		mv "$tmp/$name" "$out/$name"
	fi
done

# Debian packages of the Linux binaries (scripts/package-deb.sh: man pages
# from the binary's own help, completion, units, wg/wg-quick alternatives).
debs=()
for target in $targets; do
	case "$target" in
	linux/*) a=${target#linux/}; debs+=("$a=$out/warren-$version-linux-$a") ;;
	esac
done
if [ "$deb" = 1 ] && [ ${#debs[@]} -gt 0 ]; then
	echo "release: Debian packages"
	SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH "$src/scripts/package-deb.sh" "$version" "$out" "${debs[@]}" \
		|| die "package-deb.sh could not build the Debian packages"
fi

echo "$version" > "$out/VERSION"
(cd "$out" && shopt -s nullglob && sha256sum warren-* warren_*.deb VERSION | LC_ALL=C sort -k2 > SHA256SUMS)
echo "release: $out/SHA256SUMS"
cat "$out/SHA256SUMS"
