# Sourced (from the repository's root) by scripts/wine-test.sh and
# scripts/msi-wine-check.sh: a wine prefix in which Go programs run.
#
# wine_setup NAME checks that wine and mingw-w64 are installed (else it says
# so, prefixed with NAME, and returns 1), makes $work, a throwaway
# directory, and $prefix, the wine prefix ($WARREN_WINEPREFIX to reuse one
# between runs, else $work/prefix), and on exit stops the prefix's
# wineserver and removes $work. It exports WINEPREFIX, WINEARCH=win64,
# WINEDEBUG=-all and WINEDLLOVERRIDES: no Mono or Gecko installer prompts,
# and our bcryptprimitives.dll instead of wine's. That DLL, built here from
# scripts/wine/processprng.c with mingw-w64, is a stand-in exporting
# ProcessPrng (over RtlGenRandom), which Go 1.22+ programs call and wine 8
# lacks. Call it as a plain command, so that the caller's set -e covers
# every step (in a condition, as `wine_setup X || ...`, it would not).

wine_setup() {
	local name=$1 tool
	for tool in wine wineserver x86_64-w64-mingw32-gcc; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "$name: $tool not found (apt-get install wine wine64 gcc-mingw-w64-x86-64)" >&2
			return 1
		fi
	done
	work=$(mktemp -d "${TMPDIR:-/tmp}/warren-$name.XXXXXX")
	prefix=${WARREN_WINEPREFIX:-$work/prefix}
	trap wine_cleanup EXIT
	export WINEPREFIX="$prefix" WINEARCH=win64 WINEDEBUG=-all
	export WINEDLLOVERRIDES="mscoree,mshtml=;bcryptprimitives=n"
	if [ ! -f "$prefix/system.reg" ]; then
		wineboot --init >/dev/null 2>&1
		wineserver -w
	fi
	x86_64-w64-mingw32-gcc -O2 -shared -o "$work/bcryptprimitives.dll" \
		scripts/wine/processprng.c scripts/wine/processprng.def -ladvapi32
	cp "$work/bcryptprimitives.dll" "$prefix/drive_c/windows/system32/"
}

# wine_cleanup is wine_setup's exit trap.
wine_cleanup() {
	WINEPREFIX="$prefix" wineserver -k >/dev/null 2>&1 || true
	rm -rf "$work"
}
