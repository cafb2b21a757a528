#!/usr/bin/env bash
# Check the release: scripts/release.sh run twice with one throwaway
# self-signed certificate must give byte-identical binaries (SHA256SUMS
# equal), every Windows binary's Authenticode signature must verify, and a
# tampered copy must fail verification.
#
#   scripts/release-check.sh [--fresh-cache]
#
# --fresh-cache builds the second time with an empty Go build cache, so
# every package is recompiled (slow; the default reuses the cache and
# relinks, which is what keeps this step short in scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

fresh=0
[ "${1:-}" = --fresh-cache ] && fresh=1

die() { echo "release-check: FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One certificate for both runs: with the signing time fixed by
# SOURCE_DATE_EPOCH the signed files must be identical too.
openssl req -x509 -newkey rsa:3072 -nodes -sha256 -days 30 \
	-subj "/CN=warren release-check (throwaway)" \
	-addext "keyUsage=critical,digitalSignature" \
	-addext "extendedKeyUsage=codeSigning" \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null || die "openssl could not make a test certificate"
export WARREN_SIGN_CERT=$tmp/cert.pem WARREN_SIGN_KEY=$tmp/key.pem

# Both builds take the same commit, even if HEAD moves in between.
commit=()
if rev=$(git rev-parse --verify -q 'HEAD^{commit}' 2>/dev/null); then
	commit=(--commit "$rev")
fi

scripts/release.sh "${commit[@]}" --out "$tmp/a" >"$tmp/a.log" 2>&1 || { cat "$tmp/a.log" >&2; die "first release build"; }
if [ "$fresh" = 1 ]; then
	GOCACHE=$tmp/gocache scripts/release.sh "${commit[@]}" --out "$tmp/b" >"$tmp/b.log" 2>&1 || { cat "$tmp/b.log" >&2; die "second release build"; }
else
	scripts/release.sh "${commit[@]}" --out "$tmp/b" >"$tmp/b.log" 2>&1 || { cat "$tmp/b.log" >&2; die "second release build"; }
fi

echo "release-check: two builds"
diff "$tmp/a/SHA256SUMS" "$tmp/b/SHA256SUMS" >&2 || die "two builds of the same commit differ"
(cd "$tmp/a" && sha256sum -c --quiet SHA256SUMS) || die "SHA256SUMS does not match the files"
n=$(grep -c 'warren-' "$tmp/a/SHA256SUMS")
[ "$n" = 4 ] || die "expected 4 binaries, SHA256SUMS lists $n"
echo "release-check: ok: identical hashes for $n binaries"

not_before=$(date -u -d "$(openssl x509 -in "$tmp/cert.pem" -noout -startdate | cut -d= -f2)" +%s)
exes=("$tmp"/a/warren-*-windows-*.exe)
[ "${#exes[@]}" = 2 ] || die "expected 2 Windows binaries, found ${#exes[@]}"
for exe in "${exes[@]}"; do
	osslsigncode verify -CAfile "$tmp/cert.pem" -time "$((not_before + 1))" -in "$exe" >"$tmp/v.log" 2>&1 \
		|| { cat "$tmp/v.log" >&2; die "signature of $(basename "$exe") does not verify"; }
	grep -q 'Signature verification: ok' "$tmp/v.log" || { cat "$tmp/v.log" >&2; die "no positive verdict for $(basename "$exe")"; }
	echo "release-check: ok: signature of $(basename "$exe") verifies"
done

# Tamper: flip one byte in the middle of the signed image (code, covered by
# the Authenticode digest); verification must fail.
exe=${exes[0]}
cp "$exe" "$tmp/tampered.exe"
size=$(stat -c %s "$tmp/tampered.exe")
off=$((size / 2))
orig=$(od -An -tu1 -j "$off" -N1 "$tmp/tampered.exe" | tr -d ' ')
printf "$(printf '\\%03o' $(((orig + 1) % 256)))" | dd of="$tmp/tampered.exe" bs=1 seek="$off" conv=notrunc status=none
cmp -s "$exe" "$tmp/tampered.exe" && die "tampering did not change the file"
if osslsigncode verify -CAfile "$tmp/cert.pem" -time "$((not_before + 1))" -in "$tmp/tampered.exe" >"$tmp/t.log" 2>&1; then
	cat "$tmp/t.log" >&2
	die "a tampered binary passed verification"
fi
echo "release-check: ok: a tampered binary fails verification"

# And a binary with its signature stripped is not taken for a signed one.
osslsigncode remove-signature -in "$exe" -out "$tmp/unsigned.exe" >/dev/null 2>&1 || die "osslsigncode could not strip the signature"
if osslsigncode verify -CAfile "$tmp/cert.pem" -in "$tmp/unsigned.exe" >/dev/null 2>&1; then
	die "an unsigned binary passed verification"
fi
echo "release-check: ok: an unsigned binary fails verification; all checks passed"
