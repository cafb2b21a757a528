#!/usr/bin/env bash
# Build warren's release binaries reproducibly, sign the Windows ones with
# Authenticode, verify every signature and write SHA256SUMS.
#
#   scripts/release.sh [--self-signed-test] [--out DIR] [--commit REV | --worktree]
#
# It builds a committed tree (REV, default HEAD, exported with git archive), so edits in
# the working tree never leak into a release; --worktree builds the working
# tree as it is instead (also the fallback outside a git checkout).
#
# Targets: linux/amd64, linux/arm64, windows/amd64, windows/arm64.
# Reproducible: CGO_ENABLED=0, -trimpath, -buildvcs=false, an empty build id,
# no symbol tables, and a version and signing time derived from
# SOURCE_DATE_EPOCH (default: the commit time of REV), never from the clock.
# Same source, same toolchain, same certificate and key: same bytes.
#
# Signing (osslsigncode): the certificate (PEM, leaf first, chain after) and
# the private key (PEM) come from WARREN_SIGN_CERT and WARREN_SIGN_KEY (file
# paths); WARREN_SIGN_PASS is the key's passphrase when it has one. With
# --self-signed-test and no WARREN_SIGN_CERT, a throwaway self-signed
# code-signing certificate is made with openssl for this run only, and the
# signatures are verified against it. Without either, the script refuses:
# an unsigned Windows release is never produced by accident.
#
# Output (DIR, default dist/): warren-VERSION-GOOS-GOARCH[.exe], VERSION,
# SHA256SUMS (sha256sum format, sorted by name).
set -euo pipefail
cd "$(dirname "$0")/.."

out=dist
self_signed=0
worktree=0
rev=HEAD
while [ $# -gt 0 ]; do
	case "$1" in
	--self-signed-test) self_signed=1 ;;
	--out) out="$2"; shift ;;
	--out=*) out="${1#--out=}" ;;
	--worktree) worktree=1 ;;
	--commit) rev="$2"; shift ;;
	--commit=*) rev="${1#--commit=}" ;;
	-h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "release: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

die() { echo "release: $*" >&2; exit 1; }
for tool in go osslsigncode openssl sha256sum; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is needed (Debian: apt-get install osslsigncode openssl)"
done

# Version: the base version of the source plus the UTC date and time of
# SOURCE_DATE_EPOCH, so a rebuild of the same commit names itself the same.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct "$rev" 2>/dev/null || true)
	[ -n "$SOURCE_DATE_EPOCH" ] || die "SOURCE_DATE_EPOCH is unset and there is no git commit to take it from"
fi
export SOURCE_DATE_EPOCH
base=$(sed -n 's/^const Base = "\(.*\)"$/\1/p' internal/buildinfo/buildinfo.go)
[ -n "$base" ] || die "cannot read the version constant Base from internal/buildinfo/buildinfo.go"
version="$base+$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d%H%M%S)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

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

# The signing time must fall inside the certificate's validity for the
# signature to verify; take SOURCE_DATE_EPOCH, or the certificate's start
# when that is later (a fresh certificate for an old commit). Both are
# fixed inputs, so the signed bytes stay reproducible.
not_before=$(date -u -d "$(openssl x509 -in "$cert" -noout -startdate | cut -d= -f2)" +%s)
sign_time=$SOURCE_DATE_EPOCH
[ "$not_before" -le "$sign_time" ] || sign_time=$((not_before + 1))

# CA bundle for verification: the certificate file itself (it carries the
# chain; for the test certificate it is the root), plus the system roots.
cafile=$tmp/ca.pem
cat "$cert" > "$cafile"
[ -r /etc/ssl/certs/ca-certificates.crt ] && cat /etc/ssl/certs/ca-certificates.crt >> "$cafile"

mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$PWD
if [ "$worktree" = 0 ] && git rev-parse --verify -q "$rev^{commit}" >/dev/null 2>&1; then
	src=$tmp/src
	mkdir -p "$src"
	git archive --format=tar "$rev" | tar -x -C "$src"
	echo "release: building commit $(git rev-parse --short "$rev^{commit}")"
else
	echo "release: building the working tree"
fi
rm -f "$out"/warren-* "$out"/SHA256SUMS "$out"/VERSION

export CGO_ENABLED=0
for target in linux/amd64 linux/arm64 windows/amd64 windows/arm64; do
	goos=${target%/*} goarch=${target#*/}
	name=warren-$version-$goos-$goarch
	[ "$goos" = windows ] && name=$name.exe
	echo "release: build $name"
	GOOS=$goos GOARCH=$goarch go build -C "$src" -trimpath -buildvcs=false \
		-ldflags="-buildid= -s -w" -o "$tmp/$name" ./cmd/warren
	if [ "$goos" = windows ]; then
		passargs=()
		[ -n "${WARREN_SIGN_PASS:-}" ] && passargs=(-pass "$WARREN_SIGN_PASS")
		osslsigncode sign -certs "$cert" -key "$key" "${passargs[@]}" \
			-h sha256 -n warren -i https://github.com/warren-vpn/warren \
			-time "$sign_time" -in "$tmp/$name" -out "$out/$name" >/dev/null \
			|| die "osslsigncode could not sign $name"
		osslsigncode verify -CAfile "$cafile" -time "$sign_time" -in "$out/$name" >"$tmp/verify.log" 2>&1 \
			|| { cat "$tmp/verify.log" >&2; die "signature of $name does not verify"; }
		echo "release: signed and verified $name"
	else
		mv "$tmp/$name" "$out/$name"
	fi
done

echo "$version" > "$out/VERSION"
(cd "$out" && sha256sum warren-* VERSION | LC_ALL=C sort -k2 > SHA256SUMS)
echo "release: $out/SHA256SUMS"
cat "$out/SHA256SUMS"
