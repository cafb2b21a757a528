#!/usr/bin/env bash
# Check the release (scripts/release.sh), with a throwaway code-signing
# certificate and a throwaway local RFC 3161 time-stamping authority
# (scripts/tsa), since CI has no internet:
#
#   - two builds of one commit are identical: the Linux binaries byte for
#     byte, the Windows exes once their signatures are removed (a time
#     stamp differs from run to run, so signed files do), the MSIs once
#     their signatures are removed, table by table and file by file, with
#     the warren.exe inside unsigned too (see msi_normal: what follows from
#     that exe's signed bytes, and wixl's clock times, are set aside);
#   - every exe and MSI is signed and carries a valid time stamp: the
#     verification fails without the authority's root, fails for a file
#     signed without a time stamp, for a tampered exe or MSI, and for a
#     file whose signature was removed;
#   - both exes carry warren's VERSIONINFO and manifest for their
#     architecture (scripts/winres check), and `warren version` prints the
#     release's version and commit;
#   - each MSI's tables (File, Component, Directory, Environment,
#     CustomAction, InstallExecuteSequence, Upgrade, Property, the summary's
#     Template) and files (msiextract) are what they should be; a third
#     build (windows/amd64 only) given a stand-in wintun.dll packages it;
#   - the amd64 MSIs install and uninstall under wine's msiexec
#     (scripts/msi-wine-check.sh), when wine is installed (required in CI).
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
for tool in osslsigncode openssl wixl msibuild msiinfo msiextract msidump; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is needed (Debian: apt-get install osslsigncode openssl wixl msitools)"
done
tmp=$(mktemp -d)
tsa_pid=
cleanup() {
	[ -z "$tsa_pid" ] || kill "$tsa_pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# One certificate and one time-stamping authority for every build.
openssl req -x509 -newkey rsa:3072 -nodes -sha256 -days 30 \
	-subj "/CN=warren release-check (throwaway)" \
	-addext "keyUsage=critical,digitalSignature" \
	-addext "extendedKeyUsage=codeSigning" \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null || die "openssl could not make a test certificate"
export WARREN_SIGN_CERT=$tmp/cert.pem WARREN_SIGN_KEY=$tmp/key.pem
go build -o "$tmp/tsa" ./scripts/tsa || die "cannot build scripts/tsa"
go build -o "$tmp/winres" ./scripts/winres || die "cannot build scripts/winres"
"$tmp/tsa" -dir "$tmp/tsadir" -url-file "$tmp/tsa.url" 2>"$tmp/tsa.log" &
tsa_pid=$!
for _ in $(seq 300); do [ -s "$tmp/tsa.url" ] && break; kill -0 "$tsa_pid" 2>/dev/null || break; sleep 0.1; done
[ -s "$tmp/tsa.url" ] || { cat "$tmp/tsa.log" >&2; die "the local time-stamping authority did not start"; }
tsa_ca=$tmp/tsadir/ca.crt
export WARREN_TSA_URL=$(cat "$tmp/tsa.url") WARREN_TSA_CAFILE=$tsa_ca
unset WINTUN_DLL

# Every build takes the same commit, even if HEAD moves in between.
commit=() rev=
if rev=$(git rev-parse --verify -q 'HEAD^{commit}' 2>/dev/null); then
	commit=(--commit "$rev")
fi
build() { # build NAME [release.sh args...]
	local name=$1
	shift
	scripts/release.sh "${commit[@]}" --no-deb --out "$tmp/$name" "$@" >"$tmp/$name.log" 2>&1 \
		|| { cat "$tmp/$name.log" >&2; die "release build $name"; }
}
build a
if [ "$fresh" = 1 ]; then
	GOCACHE=$tmp/gocache build b
else
	build b
fi
version=$(cat "$tmp/a/VERSION")

echo "release-check: two builds of ${rev:0:12} ($version)"
(cd "$tmp/a" && sha256sum -c --quiet SHA256SUMS) || die "SHA256SUMS does not match the files"
n=$(grep -c ' warren-' "$tmp/a/SHA256SUMS")
[ "$n" = 6 ] || die "expected 4 binaries and 2 MSIs, SHA256SUMS lists $n"
diff <(cut -c67- "$tmp/a/SHA256SUMS") <(cut -c67- "$tmp/b/SHA256SUMS") >&2 || die "the two builds made different files"
for f in "$tmp"/a/warren-*-linux-*; do
	cmp -s "$f" "$tmp/b/$(basename "$f")" || die "$(basename "$f") differs between the builds"
done
unsign() { osslsigncode remove-signature -in "$1" -out "$2" >/dev/null 2>&1 || die "osslsigncode could not strip $(basename "$1")"; }
for f in "$tmp"/a/warren-*-windows-*.exe; do
	b=$(basename "$f")
	unsign "$f" "$tmp/a-$b" && unsign "$tmp/b/$b" "$tmp/b-$b"
	cmp -s "$tmp/a-$b" "$tmp/b-$b" || die "$b differs between the builds once unsigned"
done
# msi_normal MSI DIR: an unsigned MSI as text and files, for comparing two
# builds. The payload's warren.exe is itself signed and time-stamped, so
# it goes in unsigned, and what follows from its signed bytes is blanked:
# its size in File, its hash in MsiFileHash, the package code (derived
# from the payload) and the cabinet; wixl's clock times (summary
# properties 12 and 13) are left out too.
msi_normal() {
	mkdir -p "$2/dump" "$2/files"
	(cd "$2/dump" && msidump -t -s "$1" >/dev/null 2>&1) || die "msidump $(basename "$1")"
	[ -f "$2/dump/_Streams/warren.cab" ] || die "$(basename "$1") has no embedded cabinet"
	sed -i -E '/^(9|12|13)\t/d' "$2/dump/_SummaryInformation.idt"
	sed -i -E 's/^(WarrenExe\tWarrenExe\twarren\.exe\t)[0-9]+/\1SIZE/' "$2/dump/File.idt"
	sed -i -E '/^WarrenExe\t/d' "$2/dump/MsiFileHash.idt"
	rm -f "$2/dump/_Streams/"*SummaryInformation "$2/dump/_Streams/warren.cab"
	msiextract -C "$2/files" "$1" >/dev/null || die "msiextract $(basename "$1")"
	unsign "$2/files/warren/warren.exe" "$2/warren.exe" && mv "$2/warren.exe" "$2/files/warren/warren.exe"
}
for f in "$tmp"/a/warren-*-windows-*.msi; do
	b=$(basename "$f")
	unsign "$f" "$tmp/a-$b" && unsign "$tmp/b/$b" "$tmp/b-$b"
	msi_normal "$tmp/a-$b" "$tmp/norm-a-$b" && msi_normal "$tmp/b-$b" "$tmp/norm-b-$b"
	diff -r "$tmp/norm-a-$b" "$tmp/norm-b-$b" >&2 || die "$b differs between the builds once unsigned"
done
echo "release-check: ok: Linux binaries identical, Windows exes and MSIs identical once unsigned"

# verify FILE [osslsigncode verify args]: a valid signature and a valid
# RFC 3161 time stamp, or failure.
verify() {
	local f=$1
	shift
	osslsigncode verify -CAfile "$tmp/cert.pem" "$@" -in "$f" >"$tmp/v.log" 2>&1 \
		&& grep -q '^Signature verification: ok' "$tmp/v.log" \
		&& grep -q '^Timestamp Server Signature verification: ok' "$tmp/v.log"
}
for f in "$tmp"/a/warren-*-windows-*; do
	verify "$f" -TSA-CAfile "$tsa_ca" || { cat "$tmp/v.log" >&2; die "$(basename "$f"): signature or time stamp does not verify"; }
	echo "release-check: ok: $(basename "$f") is signed and time-stamped"
done
exe=$(ls "$tmp"/a/warren-*-windows-amd64.exe)
msi=$(ls "$tmp"/a/warren-*-windows-amd64.msi)
if verify "$exe"; then
	die "a time stamp verified without the authority's root"
fi
for f in "$exe" "$msi"; do
	b=$(basename "$f")
	osslsigncode sign -certs "$tmp/cert.pem" -key "$tmp/key.pem" -h sha256 -in "$tmp/a-$b" -out "$tmp/nots-$b" >/dev/null 2>&1 \
		|| die "could not sign $b without a time stamp"
	if verify "$tmp/nots-$b" -TSA-CAfile "$tsa_ca"; then
		die "$b signed without a time stamp passed the check"
	fi
	if verify "$tmp/a-$b" -TSA-CAfile "$tsa_ca"; then
		die "$b with its signature removed passed the check"
	fi
done
echo "release-check: ok: no time stamp, an unknown authority or no signature fails verification"

# Tamper: one byte in the middle of the exe's code; one property in the MSI.
cp "$exe" "$tmp/tampered.exe"
size=$(stat -c %s "$tmp/tampered.exe")
off=$((size / 2))
orig=$(od -An -tu1 -j "$off" -N1 "$tmp/tampered.exe" | tr -d ' ')
printf "$(printf '\\%03o' $(((orig + 1) % 256)))" | dd of="$tmp/tampered.exe" bs=1 seek="$off" conv=notrunc status=none
cmp -s "$exe" "$tmp/tampered.exe" && die "tampering did not change the exe"
cp "$msi" "$tmp/tampered.msi"
msibuild "$tmp/tampered.msi" -q "UPDATE \`Property\` SET \`Value\` = 'https://example.invalid/' WHERE \`Property\` = 'ARPURLINFOABOUT'" >/dev/null 2>&1 \
	|| die "msibuild could not change the MSI"
grep -q example.invalid <<<"$(msiinfo export "$tmp/tampered.msi" Property)" || die "tampering did not change the MSI"
for f in "$tmp/tampered.exe" "$tmp/tampered.msi"; do
	if verify "$f" -TSA-CAfile "$tsa_ca"; then
		die "a tampered $(basename "$f") passed verification"
	fi
done
echo "release-check: ok: a tampered exe and a tampered MSI fail verification"

# Version resource, manifest, `warren version`.
for f in "$tmp"/a/warren-*-windows-*.exe; do
	arch=${f%.exe}
	arch=${arch##*-}
	"$tmp/winres" check -arch "$arch" -version "$version" "$f" >/dev/null || die "$(basename "$f"): resources"
done
echo "release-check: ok: both exes carry warren's VERSIONINFO ($version) and manifest for their architecture"
if [ "$(go env GOHOSTARCH)" = amd64 ]; then
	out=$("$tmp"/a/warren-*-linux-amd64 version)
	want="warren v$version"$'\n'"commit $rev"
	[ -z "$rev" ] && want="warren v$version"
	case "$out" in "$want"*) ;; *) die "warren version printed: $out" ;; esac
	echo "release-check: ok: warren version: $(echo "$out" | head -2 | tr '\n' ' ')"
fi

# msi_check MSI ARCH EXE [DLL]: tables and files of one installer.
msi_check() {
	local m=$1 arch=$2 x=$3 dll=${4:-} b t
	b=$(basename "$m")
	row() { # row TABLE TAB-SEPARATED-ROW
		grep -qxF "$2" <<<"$(msiinfo export "$m" "$1" | tr -d '\r')" || { msiinfo export "$m" "$1" >&2; die "$b: $1 lacks the row: $2"; }
	}
	t="x64;1033"
	[ "$arch" = arm64 ] && t="Arm64;1033"
	local sum
	sum=$(msiinfo suminfo "$m")
	grep -qx "Template: $t" <<<"$sum" || die "$b: Template is not $t"
	grep -qx 'Version: 500 (1f4)' <<<"$sum" || die "$b: not for Windows Installer 5.0"
	row Property "$(printf 'UpgradeCode\t{7B71C596-583F-435C-8208-3E2D2876FC7C}')"
	row Property "$(printf 'ALLUSERS\t1')"
	row Property "$(printf 'ProductVersion\t%s' "${version%%[-+]*}")"
	row Directory "$(printf 'INSTALLDIR\tProgramFiles64Folder\twarren')"
	row Component "$(printf 'WarrenExe\t{D6E396BC-ED57-4E35-B571-14FB52C1EF16}\tINSTALLDIR\t256\t\tWarrenExe')"
	grep -qP '^WarrenExe\tWarrenExe\twarren.exe\t' <<<"$(msiinfo export "$m" File)" || die "$b: File has no warren.exe"
	row Environment "$(printf 'WarrenPath\t=-*PATH\t[~];[INSTALLDIR]\tWarrenExe')"
	row CustomAction "$(printf 'UninstallServices\t3090\tWarrenExe\tservice uninstall --all\t')"
	row Upgrade "$(printf '{7B71C596-583F-435C-8208-3E2D2876FC7C}\t\t%s\t\t513\t\tWIX_UPGRADE_DETECTED' "${version%%[-+]*}")"
	local seq
	seq=$(msiinfo export "$m" InstallExecuteSequence | tr -d '\r')
	for a in WriteEnvironmentStrings RemoveEnvironmentStrings RemoveExistingProducts FindRelatedProducts; do
		grep -qP "^$a\t" <<<"$seq" || die "$b: InstallExecuteSequence lacks $a"
	done
	local s_init s_ca s_rm
	s_init=$(echo "$seq" | awk -F'\t' '$1 == "InstallInitialize" {print $3}')
	s_ca=$(echo "$seq" | awk -F'\t' '$1 == "UninstallServices" && $2 == "REMOVE=\"ALL\" AND NOT UPGRADINGPRODUCTCODE" {print $3}')
	s_rm=$(echo "$seq" | awk -F'\t' '$1 == "RemoveFiles" {print $3}')
	[ -n "$s_ca" ] && [ "$s_init" -lt "$s_ca" ] && [ "$s_ca" -lt "$s_rm" ] \
		|| die "$b: UninstallServices (at '$s_ca', on REMOVE=\"ALL\" AND NOT UPGRADINGPRODUCTCODE) must run after InstallInitialize ($s_init) and before RemoveFiles ($s_rm)"
	rm -rf "$tmp/x" && mkdir "$tmp/x"
	msiextract -C "$tmp/x" "$m" >/dev/null || die "$b: msiextract"
	cmp -s "$tmp/x/warren/warren.exe" "$x" || die "$b: its warren.exe is not $(basename "$x")"
	if [ -n "$dll" ]; then
		row Component "$(printf 'WintunDll\t{DDFE3FBE-D32F-43E1-B65D-3EB1FE68929D}\tINSTALLDIR\t256\t\tWintunDll')"
		cmp -s "$tmp/x/warren/wintun.dll" "$dll" || die "$b: its wintun.dll is not $dll"
		[ "$(find "$tmp/x" -type f | wc -l)" = 2 ] || die "$b: files other than warren.exe and wintun.dll: $(find "$tmp/x" -type f)"
	else
		! grep -q wintun <<<"$(msiinfo export "$m" File)" || die "$b: has a wintun.dll the build was not given"
		[ "$(find "$tmp/x" -type f | wc -l)" = 1 ] || die "$b: files other than warren.exe: $(find "$tmp/x" -type f)"
	fi
	echo "release-check: ok: $b: tables (Template $t, Program Files\\warren, PATH, uninstall action, upgrade) and files"
}
for arch in amd64 arm64; do
	msi_check "$tmp"/a/warren-*-windows-$arch.msi "$arch" "$tmp"/a/warren-*-windows-$arch.exe
done
grep -q 'WINTUN_DLL is not set: the MSIs carry no wintun.dll' "$tmp/a.log" || die "the build did not say that the MSIs carry no wintun.dll"

# A third build, windows/amd64 only, given a stand-in wintun.dll (a real,
# empty DLL made with mingw-w64; Wintun itself is not on Debian).
if command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
	mkdir -p "$tmp/wintun/amd64"
	echo 'int warren_release_check_standin;' | x86_64-w64-mingw32-gcc -shared -x c - -o "$tmp/wintun/amd64/wintun.dll" \
		|| die "mingw-w64 could not make a stand-in wintun.dll"
	WINTUN_DLL=$tmp/wintun build c --targets windows/amd64
	grep -q 'the amd64 MSI carries' "$tmp/c.log" || die "the build did not say it packaged wintun.dll"
	msi_check "$tmp"/c/warren-*-windows-amd64.msi amd64 "$tmp"/c/warren-*-windows-amd64.exe "$tmp/wintun/amd64/wintun.dll"
elif [ -n "${CI:-}" ]; then
	die "x86_64-w64-mingw32-gcc is needed in CI (apt-get install gcc-mingw-w64-x86-64)"
else
	echo "release-check: skipped: an MSI with wintun.dll (needs x86_64-w64-mingw32-gcc)"
fi

# Install and uninstall under wine.
if command -v wine >/dev/null 2>&1 && command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
	export WARREN_WINEPREFIX=$tmp/wineprefix # one prefix for both: each check leaves it as it found it
	scripts/msi-wine-check.sh "$msi" || die "the amd64 MSI under wine"
	scripts/msi-wine-check.sh "$tmp"/c/warren-*-windows-amd64.msi --with-wintun || die "the amd64 MSI with wintun.dll under wine"
elif [ -n "${CI:-}" ]; then
	die "wine and x86_64-w64-mingw32-gcc are needed in CI (apt-get install wine wine64 gcc-mingw-w64-x86-64)"
else
	echo "release-check: skipped: MSI install and uninstall under wine (needs wine and mingw-w64)"
fi
echo "release-check: all checks passed"
