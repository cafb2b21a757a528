#!/usr/bin/env bash
# Install and uninstall warren's amd64 MSI under wine's msiexec, in a
# throwaway wine prefix, and check what it did:
#
#   scripts/msi-wine-check.sh FILE.msi [--with-wintun]
#
# After `msiexec /i FILE.msi /qn`: C:\Program Files\warren\warren.exe is
# there (and wintun.dll, with --with-wintun), the system PATH in the
# registry holds C:\Program Files\warren\, and the installed warren.exe
# runs (`warren version`). A tunnel service is then registered for that
# warren.exe (with wine's sc). After `msiexec /x FILE.msi /qn`: the
# uninstall custom action (`warren service uninstall --all`) has removed
# the service, the folder is gone, and PATH no longer names it.
#
# The prefix gets the ProcessPrng stand-in DLL that Go programs need under
# wine 8 (scripts/wine/prefix.sh, shared with scripts/wine-test.sh).
# WARREN_WINEPREFIX reuses a prefix.
# Under wine, services are registered but tunnels cannot start (no Wintun),
# so the service is installed, not run.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "msi-wine-check: FAIL: $*" >&2; exit 1; }
[ $# -ge 1 ] && [ -f "$1" ] || die "usage: scripts/msi-wine-check.sh FILE.msi [--with-wintun]"
msi=$(realpath "$1")
wintun=0
[ "${2:-}" = --with-wintun ] && wintun=1
# The prefix, with the ProcessPrng shim: $work and $prefix.
. scripts/wine/prefix.sh
wine_setup msi-wine-check

dir="$prefix/drive_c/Program Files/warren"
envkey='HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\Environment'
syspath() { wine reg query "$envkey" /v PATH 2>/dev/null | tr -d '\r' | sed -n 's/.*REG_EXPAND_SZ *//p'; }
# logtext FILE: an msiexec log as text (wine writes it in the ANSI code page).
logtext() { tr -d '\000\r' <"$1"; }
winmsi=$(winepath -w "$msi")
[ ! -e "$dir" ] || die "$dir exists before the install (reused prefix?)"

wine msiexec /i "$winmsi" /qn /l*v "$(winepath -w "$work/install.log")" \
	|| { logtext "$work/install.log" | tail -40 >&2; die "msiexec /i failed"; }
[ -f "$dir/warren.exe" ] || die "no C:\\Program Files\\warren\\warren.exe after the install"
if [ "$wintun" = 1 ]; then
	[ -f "$dir/wintun.dll" ] || die "no wintun.dll after the install"
else
	[ ! -e "$dir/wintun.dll" ] || die "wintun.dll installed by an MSI that carries none"
fi
p=$(syspath)
case ";$p;" in
*';C:\Program Files\warren\;'*) ;;
*) die "system PATH after the install does not name C:\\Program Files\\warren\\: $p" ;;
esac
echo "msi-wine-check: ok: installed warren.exe$([ "$wintun" = 1 ] && echo ' and wintun.dll'), PATH names C:\\Program Files\\warren\\"

out=$(wine "C:\\Program Files\\warren\\warren.exe" version 2>&1 | tr -d '\r') || die "installed warren.exe version: $out"
case "$out" in warren\ v*) ;; *) die "installed warren.exe version printed: $out" ;; esac
echo "msi-wine-check: ok: the installed warren.exe runs: ${out%%$'\n'*}"

# A tunnel service for the uninstall to remove. `warren service install`
# rightly refuses under wine (wine keeps no DACLs, so Program Files\warren
# looks writable by the user), so the service is registered the way
# install registers it, with wine's sc: same name, same command line.
svc='WarrenTunnel$msitest'
svckey="HKLM\\SYSTEM\\CurrentControlSet\\Services\\$svc"
wine sc create "$svc" binPath= '"C:\Program Files\warren\warren.exe" service run msitest' start= demand >"$work/svc.log" 2>&1 \
	|| { cat "$work/svc.log" >&2; die "sc create $svc"; }
wine reg query "$svckey" >/dev/null 2>&1 || die "no service $svc after sc create"
echo "msi-wine-check: ok: tunnel service $svc registered"

wine msiexec /x "$winmsi" /qn /l*v "$(winepath -w "$work/uninstall.log")" \
	|| { logtext "$work/uninstall.log" | grep -i -B2 -A8 "uninstallservices" >&2; die "msiexec /x failed"; }
grep -q "UninstallServices.*Return value 1" <<<"$(logtext "$work/uninstall.log")" \
	|| { logtext "$work/uninstall.log" | grep -i uninstallservices >&2; die "the uninstall custom action did not run, or failed"; }
# Wine's service manager deletes the key once the last handle is closed
# (reg query exits 1, and prints to stdout, for a key that is missing).
gone=0
for _ in $(seq 50); do
	wine reg query "$svckey" >/dev/null 2>&1 || { gone=1; break; }
	sleep 0.2
done
[ "$gone" = 1 ] || die "service $svc is still there after the uninstall"
[ ! -e "$dir/warren.exe" ] || die "warren.exe is still there after the uninstall"
[ ! -e "$dir" ] || die "C:\\Program Files\\warren is still there after the uninstall: $(ls -A "$dir")"
p=$(syspath)
case "$p" in
*'Program Files\warren'*) die "system PATH after the uninstall still names warren: $p" ;;
esac
echo "msi-wine-check: ok: uninstalled: the service removed by warren service uninstall --all, files gone, PATH without warren"
