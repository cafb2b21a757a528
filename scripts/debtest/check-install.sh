#!/bin/bash
# Installs a warren .deb, checks it, and removes it again (run as root by
# scripts/debtest, on a throwaway machine or in a throwaway overlay):
#
#   check-install.sh DEB VERSION [TOOLS_DEB]
#
# With wireguard-tools installed its wg and wg-quick must stay untouched
# throughout. Given TOOLS_DEB, wireguard-tools' package (only where
# removing it is harmless), it is removed after warren's install, warren's
# wg must take over, and installed again from TOOLS_DEB, which must put its
# own wg and wg-quick back in place of warren's links.
set -euo pipefail
deb=$1 version=$2 tools_deb=${3:-}
fail() { echo "check-install: FAIL: $*" >&2; exit 1; }
sum() { if [ -e "$1" ]; then sha256sum "$1" | cut -d' ' -f1; else echo absent; fi; }
wg_line='wireguard-tools v1.0.20210914 - https://git.zx2c4.com/wireguard-tools/'
tools=0
dpkg -s wireguard-tools 2>/dev/null | grep -q '^Status: install ok installed' && tools=1
wg_before=$(sum /usr/bin/wg) quick_before=$(sum /usr/bin/wg-quick)

echo "check-install: dpkg -i $(basename "$deb") (wireguard-tools installed: $tools)"
dpkg -i "$deb"
files=$(dpkg -L warren)

warren version | head -1 | grep -qxF "warren v$version" || fail "warren version: $(warren version | head -1)"
for page in warren warren-quick warren-wg warren-daemon warren-proxy warren-selftest warren-manager; do
	man -w "$page" >/dev/null || fail "man -w $page"
done
[ "$(bash -c 'source /usr/share/bash-completion/completions/warren && complete -p warren')" = "complete -F _warren warren" ] ||
	fail "bash completion does not load"
if command -v zsh >/dev/null; then
	zsh -fc 'autoload -Uz compinit; compinit -u -D; [[ ${_comps[warren]} == _warren ]]' ||
		fail "zsh completion is not found by compinit"
fi
units=()
for u in warren@.service warren-manager.service; do
	[ -f "/lib/systemd/system/$u" ] && units+=("/lib/systemd/system/$u")
done
[ ${#units[@]} -gt 0 ] || fail "no systemd units installed"
systemd-analyze verify "${units[@]}" || fail "systemd-analyze verify ${units[*]}"

# Every command's --help, line by line, in its installed man page.
while read -r cmd page; do
	rendered=$(MANWIDTH=250 man "$page" 2>/dev/null | sed 's/^       //; s/ *$//')
	while IFS= read -r line; do
		line=$(printf '%s\n' "$line" | expand | sed 's/ *$//')
		[ -z "$line" ] && continue
		grep -qxF -- "$line" <<<"$rendered" || fail "man $page lacks this line of warren $cmd --help: $line"
	done < <(warren "$cmd" --help)
done <<'LIST'
up warren-quick
strip warren-quick
show warren-wg
set warren-wg
syncconf warren-wg
genkey warren-wg
daemon warren-daemon
proxy warren-proxy
demo warren-proxy
selftest warren-selftest
manager warren-manager
help warren
version warren
LIST

if [ "$tools" = 1 ]; then
	[ "$(sum /usr/bin/wg)" = "$wg_before" ] && [ "$(sum /usr/bin/wg-quick)" = "$quick_before" ] ||
		fail "wireguard-tools' wg or wg-quick changed"
	[ "$(wg --version)" = "$wg_line" ] || fail "wg --version: $(wg --version)"
	wg genkey | wg pubkey >/dev/null || fail "wireguard-tools' wg does not work"
	if [ -n "$tools_deb" ]; then
		echo "check-install: dpkg -r wireguard-tools"
		dpkg -r wireguard-tools
		[ "$(readlink -f /usr/bin/wg)" = /usr/bin/warren ] || fail "after wireguard-tools went, wg is $(readlink -f /usr/bin/wg)"
		[ "$(readlink -f /usr/bin/wg-quick)" = /usr/bin/warren ] || fail "wg-quick is $(readlink -f /usr/bin/wg-quick)"
		wg --version | head -1 | grep -q '^wireguard-tools v1\.0\.20210914 - https://github.com/warren-vpn/warren$' ||
			fail "wg --version as warren: $(wg --version | head -1)"
		[ "$(readlink -f /usr/share/man/man8/wg.8.gz)" = /usr/share/man/man8/warren-wg.8.gz ] || fail "man wg is not warren-wg"
		echo "check-install: dpkg -i $(basename "$tools_deb")"
		dpkg -i "$tools_deb"
		[ "$(sum /usr/bin/wg)" = "$wg_before" ] && [ "$(sum /usr/bin/wg-quick)" = "$quick_before" ] ||
			fail "wireguard-tools installed after warren does not have its own wg and wg-quick back"
		[ "$(wg --version)" = "$wg_line" ] || fail "wg --version after reinstalling wireguard-tools: $(wg --version)"
	fi
else
	[ "$(readlink -f /usr/bin/wg)" = /usr/bin/warren ] || fail "wg is $(readlink -f /usr/bin/wg), not warren"
	wg --version | head -1 | grep -q '^wireguard-tools v1\.0\.20210914 - https://github.com/warren-vpn/warren$' ||
		fail "wg --version as warren: $(wg --version | head -1)"
fi

echo "check-install: dpkg -r warren"
dpkg -r warren
while IFS= read -r f; do
	[ -d "$f" ] && continue # shared directories (and /lib, a link on merged-/usr systems)
	if [ -e "$f" ] || [ -L "$f" ]; then fail "$f is left after dpkg -r"; fi
done <<<"$files"
[ ! -e /usr/share/doc/warren ] || fail "/usr/share/doc/warren is left"
if update-alternatives --query wg >/dev/null 2>&1 || update-alternatives --query wg-quick >/dev/null 2>&1; then
	fail "warren's alternatives are left"
fi
[ "$(sum /usr/bin/wg)" = "$wg_before" ] && [ "$(sum /usr/bin/wg-quick)" = "$quick_before" ] ||
	fail "wg or wg-quick is not as before: $(ls -l /usr/bin/wg /usr/bin/wg-quick 2>&1)"
if [ "$tools" = 1 ]; then
	[ "$(wg --version)" = "$wg_line" ] || fail "wireguard-tools' wg after removal: $(wg --version)"
fi
dpkg --purge warren >/dev/null
echo "check-install: ok"
