#!/usr/bin/env bash
# fuzz.sh: the fuzz campaign. Runs every fuzz target of the module in turn,
# keeps what it learned as seeds under testdata, and prints per target what
# it did.
#
# Targets: every `func Fuzz...` that `go test -list` reports for this
# platform (packages are first narrowed to those whose _test.go files declare
# one, so that not every test binary of the module is built). Each runs alone,
# `go test -run='^$' -fuzz='^NAME$' -fuzztime=Nm -parallel 1`, under nice:
# one fuzzing worker, since the machine is shared.
#
# The corpus. Go keeps the inputs that reached new coverage in its build
# cache ($GOCACHE/fuzz/PKG/NAME), which another machine, CI and a plain
# `go test` never see. After each target this script offers those inputs to
# the package's testdata/fuzz/NAME, smallest first, and keeps one only if it
# covers a statement of the package that the seeds already there (f.Add and
# testdata) do not: it builds the package's tests with -cover once, measures
# the existing seeds, then each candidate alone. So every file committed makes
# `go test` exercise code it did not before, and the kept set stays small
# (at most --keep a target); inputs that only change hit counts or paths
# through statements already covered stay in the cache, where the next
# campaign on this machine starts from them.
#
# Crashers. When a target fails, Go writes the failing input to
# testdata/fuzz/NAME itself, where it is a regression seed: `go test` fails on
# it until the bug is fixed. A cached input that fails under today's code is
# kept the same way. Both are listed after the table with the command that
# reproduces them.
#
# The table: per target, fuzzing time, executions and executions per second
# (over the whole run), "new" inputs Go found interesting (coverage it had not
# seen, from its last status line), seeds kept, statements covered by the
# seeds before and after, and crashers. The exit status is non-zero if a
# target crashed or could not run.
#
# Usage: scripts/fuzz.sh [--minutes N] [--keep N] [--run REGEX]
#   --minutes N   fuzzing time per target, minutes (default 5; may be a
#                 fraction such as 0.5)
#   --keep N      at most N new seeds kept per target (default 20)
#   --run REGEX   only targets whose "pkg/NAME" (pkg relative to the module,
#                 e.g. internal/wire/FuzzParse) matches (grep -E)
#   --list        print the targets and exit
# Environment: FUZZ_NICE (default 10), FUZZ_CANDIDATES (most cached inputs
# measured per target, default 400), FUZZ_KEEP_LOGS=DIR keeps the logs.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=5 keep=20 run_re= list=0
while (($#)); do
	case $1 in
	--minutes) minutes=${2:?--minutes needs a value}; shift 2 ;;
	--keep) keep=${2:?--keep needs a value}; shift 2 ;;
	--run) run_re=${2:?--run needs a value}; shift 2 ;;
	--list) list=1; shift ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "fuzz.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[[ $minutes =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "fuzz.sh: --minutes must be a number" >&2; exit 2; }
[[ $keep =~ ^[0-9]+$ ]] || { echo "fuzz.sh: --keep must be a whole number" >&2; exit 2; }
NICE=${FUZZ_NICE:-10}
MAXCAND=${FUZZ_CANDIDATES:-400}
fuzztime=$(awk -v m="$minutes" 'BEGIN { printf "%ds", m * 60 }')

MOD=$(go list -m)
CACHE=$(go env GOCACHE)/fuzz
WORK=$(mktemp -d /tmp/warren-fuzz.XXXXXX)
PENDING= # a candidate seed copied into testdata and not yet judged
cleanup() {
	[ -n "$PENDING" ] && rm -f "$PENDING"
	if [ -n "${FUZZ_KEEP_LOGS:-}" ]; then
		mkdir -p "$FUZZ_KEEP_LOGS" && cp "$WORK"/*.log "$FUZZ_KEEP_LOGS"/ 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- targets ----------------------------------------------------------------
mapfile -t dirs < <(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -r -n1 dirname | sed 's|^\./||' | sort -u)
targets=() broken=()
for d in "${dirs[@]}"; do
	if ! out=$(go test -list '^Fuzz' "./$d" 2>&1); then
		broken+=("$d")
		echo "fuzz.sh: ./$d: cannot list its tests:" >&2
		tail -n 5 <<<"$out" >&2
		continue
	fi
	while read -r name; do
		[[ $name == Fuzz* ]] || continue
		if [ -z "$run_re" ] || grep -Eq -- "$run_re" <<<"$d/$name"; then
			targets+=("$d/$name")
		fi
	done <<<"$out"
done
if ((list)); then
	printf '%s\n' "${targets[@]}"
	exit 0
fi
((${#targets[@]})) || { echo "fuzz.sh: no fuzz targets${run_re:+ match $run_re}" >&2; exit 1; }
echo "== ${#targets[@]} targets, ${minutes} min each (about $(awk -v n=${#targets[@]} -v m="$minutes" 'BEGIN { printf "%.0f", n * m }') min of fuzzing)" >&2

# --- coverage of seeds --------------------------------------------------------
# blocks PROFILE: the covered blocks of a cover profile, "file:pos numstmt", sorted.
blocks() { awk 'NR > 1 && $NF > 0 { print $1, $2 }' "$1" | sort -u; }
stmts() { awk '{ n += $2 } END { print n + 0 }' "$1"; }

# coverbin DIR: builds (once) DIR's tests with -cover; prints the binary's path.
coverbin() {
	local bin=$WORK/bin/${1//\//_}.test
	if [ ! -x "$bin" ]; then
		mkdir -p "$WORK/bin"
		nice -n "$NICE" go test -c -cover -o "$bin" "./$1" >"$WORK/build.log" 2>&1 || return 1
	fi
	echo "$bin"
}

# runseeds BIN DIR RUN PROFILE: runs the seeds RUN selects in DIR, with coverage.
runseeds() {
	(cd "$2" && nice -n "$NICE" timeout 120 "$1" -test.run "$3" -test.count 1 -test.coverprofile "$4" >"$WORK/seed.log" 2>&1)
}

# keepseeds DIR NAME: offers the cached corpus of DIR's NAME to its testdata;
# sets KEPT, FAILING (cached inputs failing today), BEFORE and AFTER (statements).
keepseeds() {
	local dir=$1 name=$2 bin tdir cdir f base n
	KEPT=0 FAILING=() BEFORE=- AFTER=-
	tdir=$dir/testdata/fuzz/$name
	cdir=$CACHE/$MOD/$dir/$name
	if ! bin=$(coverbin "$dir"); then
		echo "fuzz.sh: $dir: cannot build with -cover: $(tail -n 3 "$WORK/build.log")" >&2
		return 0
	fi
	runseeds "$bin" "$dir" "^$name\$" "$WORK/base.out" || true
	[ -s "$WORK/base.out" ] || return 0
	blocks "$WORK/base.out" >"$WORK/covered"
	BEFORE=$(stmts "$WORK/covered")
	AFTER=$BEFORE
	[ -d "$cdir" ] || return 0
	mkdir -p "$tdir"
	# Smallest first: of two inputs reaching the same code, the smaller
	# one is kept, and it runs faster on every go test.
	while read -r _ f; do
		base=${f##*/}
		[ -e "$tdir/$base" ] && continue
		cp "$f" "$tdir/$base"
		PENDING=$tdir/$base
		if ! runseeds "$bin" "$dir" "^$name\$/^$base\$" "$WORK/one.out"; then
			if grep -q -- "--- FAIL" "$WORK/seed.log"; then
				FAILING+=("$tdir/$base") # kept: a regression seed
				PENDING=
				continue
			fi
			rm -f "$tdir/$base"; PENDING=
			continue
		fi
		blocks "$WORK/one.out" | comm -13 "$WORK/covered" - >"$WORK/new"
		if [ -s "$WORK/new" ] && ((KEPT < keep)); then
			sort -u "$WORK/covered" "$WORK/new" -o "$WORK/covered"
			KEPT=$((KEPT + 1))
		else
			rm -f "$tdir/$base"
		fi
		PENDING=
	done < <(find "$cdir" -maxdepth 1 -type f -printf '%s %p\n' | sort -n | head -n "$MAXCAND")
	rmdir "$tdir" 2>/dev/null || true
	AFTER=$(stmts "$WORK/covered")
}

# seconds D: a Go duration as printed by the fuzzer (1h2m3s, 5m0s, 9s) in seconds.
seconds() {
	awk -v d="$1" 'BEGIN { s = 0; while (match(d, /^[0-9.]+(h|ms|m|s)/)) {
		t = substr(d, 1, RLENGTH); d = substr(d, RLENGTH + 1); u = t; sub(/^[0-9.]+/, "", u); v = t + 0
		s += u == "h" ? v * 3600 : u == "m" ? v * 60 : u == "ms" ? v / 1000 : v }; print s }'
}

# --- the campaign -------------------------------------------------------------
rows=() crashes=() failed=0
for t in "${targets[@]}"; do
	dir=${t%/*} name=${t##*/}
	log=$WORK/${dir//\//_}.$name.log
	tdir=$dir/testdata/fuzz/$name
	before=$(ls "$tdir" 2>/dev/null | sort || true)
	echo "== $dir $name ($(date -u +%H:%M:%S) UTC)" >&2
	rc=0
	nice -n "$NICE" go test -run='^$' -fuzz="^$name\$" -fuzztime="$fuzztime" -parallel 1 "./$dir" >"$log" 2>&1 || rc=$?
	last=$(grep -E '^fuzz: elapsed: [^,]+, execs: ' "$log" | tail -n 1 || true)
	elapsed=- execs=- rate=- newi=-
	if [ -n "$last" ]; then
		elapsed=$(sed -E 's/^fuzz: elapsed: ([^,]+),.*/\1/' <<<"$last")
		execs=$(sed -E 's/.* execs: ([0-9]+) .*/\1/' <<<"$last")
		newi=$(sed -E 's/.*new interesting: ([0-9]+).*/\1/' <<<"$last")
		rate=$(awk -v e="$execs" -v s="$(seconds "$elapsed")" 'BEGIN { printf "%.0f", (s > 0 ? e / s : 0) }')
	fi
	# Crashers: what Go wrote to testdata during this run.
	after=$(ls "$tdir" 2>/dev/null | sort || true)
	mapfile -t newcrash < <(comm -13 <(echo "$before") <(echo "$after") | sed '/^$/d')
	ncrash=${#newcrash[@]}
	for c in "${newcrash[@]}"; do
		crashes+=("$dir $name: $tdir/$c
    reproduce: go test -run='^$name\$/^$c\$' ./$dir
$(grep -E -m 8 -- '--- FAIL|panic:|_test.go:[0-9]+:|\.go:[0-9]+: ' "$log" | sed 's/^/    /')")
	done
	status=ok
	if ((rc != 0)) && ((ncrash == 0)); then
		status=error failed=1
		echo "fuzz.sh: $dir $name failed without a crasher:" >&2
		tail -n 15 "$log" >&2
	elif ((ncrash)); then
		status=CRASH failed=1
	fi
	keepseeds "$dir" "$name"
	for c in "${FAILING[@]}"; do
		crashes+=("$dir $name: cached input failing today: $c
    reproduce: go test -run='^$name\$/^${c##*/}\$' ./$dir
$(grep -E -m 8 -- '--- FAIL|panic:|_test.go:[0-9]+:' "$WORK/seed.log" | sed 's/^/    /')")
		ncrash=$((ncrash + 1)) status=CRASH failed=1
	done
	rows+=("$(printf '%-22s %-24s %7s %12s %9s %6s %5s %13s %7s %s' "$dir" "$name" "$elapsed" "$execs" "$rate" "$newi" "$KEPT" "$BEFORE->$AFTER" "$ncrash" "$status")")
	echo "   ${rows[-1]}" >&2
done

echo
echo "fuzz campaign, $(date -u '+%Y-%m-%d %H:%M UTC'), $(go version | awk '{print $3}'), $(nproc) cores, ${minutes} min a target, 1 worker, nice $NICE"
printf '%-22s %-24s %7s %12s %9s %6s %5s %13s %7s %s\n' package target time execs execs/s new kept "seed stmts" crashers status
printf '%s\n' "${rows[@]}"
echo "(new: inputs Go found interesting in this run; kept: of the cached corpus, seeds added to testdata because"
echo " they cover statements the existing seeds do not; seed stmts: statements of the package the target's seeds cover)"
for d in "${broken[@]}"; do echo "not run: ./$d does not build its tests"; failed=1; done
if ((${#crashes[@]})); then
	echo
	echo "CRASHERS (kept under testdata as regression seeds):"
	printf '%s\n' "${crashes[@]}"
fi
exit "$failed"
