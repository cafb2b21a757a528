#!/usr/bin/env bash
# scale.sh: one device, many peers (issue 15), warren against wireguard-go.
#
# Builds warren (this tree) and wireguard-go (the version go.mod pins, from
# the module proxy, into a temporary directory), and for each peer count N
# and implementation starts the daemon alone in a fresh network namespace
# (interface up, no traffic) and measures, with Debian's wg(8):
#   setconf_s   time of `wg setconf` of N peers (one random key and one /32
#               each, test/bench/genpeers), and the peak RSS while it ran
#   rss_mib     resident memory 3 s later (VmRSS) and bytes a peer
#   idle_cpu    CPU time the daemon used over SCALE_IDLE seconds of idle
#               (utime+stime; idle peers must cost no timer work)
#   dump_s      time of `wg show IFACE dump` (checked to list N peers) and
#               the peak RSS while it ran (VmHWM reset through clear_refs)
#   get_s       the server's part of it: one get request over the UAPI
#               socket, the answer read but not parsed (test/bench/uapiset)
#   set_ms      median of 5 `wg set` adding one peer and 5 removing it
#               (wall time of the wg process, its own start included: on a
#               loaded machine starting wg alone takes 10 ms and more)
#   uapi_set_ms the same changes as single set requests over the UAPI
#               socket, timed inside one process (test/bench/uapiset)
# The reference is run only where it can take the load (N <= 65536, its
# limit). Responder handshakes/s with N idle peers configured against none
# (besides the 512 initiators) come from a Go benchmark (internal/device
# BenchmarkScaleResponder, the median of 3 alternating runs), once per N;
# so does the throughput of one active peer's packets through the send path
# with N idle peers in the routing table against none (BenchmarkScaleSendPath).
#
# Usage (root):  scripts/scale.sh
# Environment:
#   SCALE_N       peer counts ("10000 100000 1000000")
#   SCALE_IMPLS   implementations ("warren ref")
#   SCALE_IDLE    seconds of idle CPU measurement (10)
#   SCALE_HS      1 to run the handshake and send path benchmarks (1)
#   SCALE_WARREN  a prebuilt warren binary; SCALE_REF a prebuilt wireguard-go
#   SCALE_KEEP    a directory to keep the generated files and logs in
#   WARREN_MAX_PEERS is passed to warren (its peer limit; default 2^20)
# A missed target is shown in the table, not in the exit status.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 077

case ${1:-} in
-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d'; exit 0 ;;
"") ;;
*) echo "scale.sh: unknown argument $1" >&2; exit 2 ;;
esac
NS_LIST=${SCALE_N:-10000 100000 1000000}
IMPLS=${SCALE_IMPLS:-warren ref}
IDLE=${SCALE_IDLE:-10}
HS=${SCALE_HS:-1}
REF_MAX=65536

die() { echo "scale.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, TUN)"
for c in ip wg awk go; do command -v "$c" >/dev/null || die "needs $c in PATH"; done
[ -c /dev/net/tun ] || die "needs /dev/net/tun"

id=$(printf '%x' $$)
NS=wrscale-$id IF=wrsc$id SOCKDIR=/var/run/wireguard
WORK=$(mktemp -d /tmp/warren-scale.XXXXXX)
DPID=
cleanup() {
	[ -n "$DPID" ] && { kill "$DPID" 2>/dev/null || true; wait "$DPID" 2>/dev/null || true; }
	ip netns del "$NS" 2>/dev/null || true
	rm -f "$SOCKDIR/$IF.sock"
	if [ -n "${SCALE_KEEP:-}" ]; then mkdir -p "$SCALE_KEEP" && cp "$WORK"/*.log "$WORK"/results "$SCALE_KEEP"/ 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== build" >&2
if [ -n "${SCALE_WARREN:-}" ]; then cp "$SCALE_WARREN" "$WORK/warren"; else go build -o "$WORK/warren" ./cmd/warren || die "build warren"; fi
if [[ " $IMPLS " == *" ref "* ]]; then
	if [ -n "${SCALE_REF:-}" ]; then cp "$SCALE_REF" "$WORK/wireguard-go"; else
		go build -o "$WORK/wireguard-go" golang.zx2c4.com/wireguard || die "build wireguard-go (go.mod pins it)"
	fi
fi
go build -o "$WORK/genpeers" ./test/bench/genpeers || die "build genpeers"
go build -o "$WORK/uapiset" ./test/bench/uapiset || die "build uapiset"
REV=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
git diff --quiet HEAD -- 2>/dev/null || REV="$REV+changes"
EXTRA=$("$WORK/warren" genkey | "$WORK/warren" pubkey)

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
kib() { awk -v k="$1" '/^'"$1"':/ { print $2 }' "/proc/$DPID/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$DPID/stat"; }
record() { echo "$1 $2 $3 $4" >>"$WORK/results"; } # impl N metric value

start_daemon() {
	local impl=$1 i
	ip netns add "$NS" || die "create namespace"
	ip -n "$NS" link set lo up
	case $impl in
	warren) ip netns exec "$NS" env LOG_LEVEL=error "$WORK/warren" daemon -f "$IF" >>"$WORK/daemon.log" 2>&1 & ;;
	ref) ip netns exec "$NS" env LOG_LEVEL=error "$WORK/wireguard-go" -f "$IF" >>"$WORK/daemon.log" 2>&1 & ;;
	*) die "unknown implementation $impl" ;;
	esac
	DPID=$!
	for ((i = 0; i < 100; i++)); do
		if [ -S "$SOCKDIR/$IF.sock" ] && ip netns exec "$NS" wg show "$IF" >/dev/null 2>&1; then
			ip -n "$NS" link set "$IF" up || die "$impl: link up"
			return 0
		fi
		kill -0 "$DPID" 2>/dev/null || die "$impl daemon exited at start: $(tail -5 "$WORK/daemon.log")"
		sleep 0.1
	done
	die "$impl daemon: no UAPI socket after 10 s"
}

stop_daemon() {
	kill -TERM "$DPID" 2>/dev/null || true
	wait "$DPID" 2>/dev/null || true
	DPID=
	ip netns del "$NS" 2>/dev/null || true
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

measure() {
	local impl=$1 n=$2 t out lines t0 c0 i rss
	echo "== $impl, $n peers" >&2
	start_daemon "$impl"
	echo 5 >"/proc/$DPID/clear_refs" || true
	t=$(now)
	if ! out=$(ip netns exec "$NS" wg setconf "$IF" "$WORK/peers-$n.conf" 2>&1); then
		echo "scale.sh: $impl: setconf of $n peers failed: $out" >&2
		record "$impl" "$n" setconf_s "failed"
		stop_daemon
		return 0
	fi
	record "$impl" "$n" setconf_s "$(since "$t")"
	record "$impl" "$n" setconf_peak_mib "$(awk -v k="$(kib VmHWM)" 'BEGIN { printf "%.0f", k / 1024 }')"
	sleep 3
	rss=$(kib VmRSS)
	record "$impl" "$n" rss_mib "$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')"
	record "$impl" "$n" bytes_peer "$(awk -v k="$rss" -v n="$n" 'BEGIN { printf "%.0f", k * 1024 / n }')"
	c0=$(cpu_ticks)
	sleep "$IDLE"
	record "$impl" "$n" idle_cpu_ms "$(( ($(cpu_ticks) - c0) * 1000 / $(getconf CLK_TCK) ))"

	echo 5 >"/proc/$DPID/clear_refs" || true
	t=$(now)
	lines=$(wg show "$IF" dump | wc -l) || die "$impl: dump"
	record "$impl" "$n" dump_s "$(since "$t")"
	record "$impl" "$n" dump_peak_mib "$(awk -v k="$(kib VmHWM)" 'BEGIN { printf "%.0f", k / 1024 }')"
	[ "$lines" = $((n + 1)) ] || echo "scale.sh: $impl: dump listed $((lines - 1)) peers, not $n" >&2
	out=$("$WORK/uapiset" -get "$IF") || die "$impl: uapiset -get"
	read -r a _ <<<"$out"
	record "$impl" "$n" get_s "${a#get_s=}"

	: >"$WORK/add" && : >"$WORK/rm"
	for ((i = 0; i < 5; i++)); do
		t0=$(now)
		if ! wg set "$IF" peer "$EXTRA" allowed-ips 10.250.0.1/32; then
			echo "scale.sh: $impl: wg set refused one more peer after $n" >&2
			record "$impl" "$n" set_add_ms refused
			stop_daemon
			return 0
		fi
		awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f\n", (b - a) * 1000 }' >>"$WORK/add"
		t0=$(now)
		wg set "$IF" peer "$EXTRA" remove || die "$impl: wg set remove"
		awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f\n", (b - a) * 1000 }' >>"$WORK/rm"
	done
	record "$impl" "$n" set_add_ms "$(median <"$WORK/add")"
	record "$impl" "$n" set_rm_ms "$(median <"$WORK/rm")"
	out=$("$WORK/uapiset" -n 5 "$IF") || die "$impl: uapiset"
	read -r a r <<<"$out"
	record "$impl" "$n" uapi_add_ms "${a#add_ms=}"
	record "$impl" "$n" uapi_rm_ms "${r#remove_ms=}"
	stop_daemon
}

: >"$WORK/results"
for n in $NS_LIST; do
	"$WORK/genpeers" -n "$n" >"$WORK/peers-$n.conf" || die "generate $n peers"
	for impl in $IMPLS; do
		if [ "$impl" = ref ] && ((n > REF_MAX)); then continue; fi
		measure "$impl" "$n"
	done
	rm -f "$WORK/peers-$n.conf"
	if [ "$HS" = 1 ]; then
		echo "== handshakes, $n peers" >&2
		out=$(SCALE_BENCH_PEERS=$n go test -count=1 -run '^$' -bench '^BenchmarkScaleResponder$' -benchtime 3000x -timeout 60m ./internal/device 2>&1) ||
			die "handshake benchmark: $(tail -5 <<<"$out")"
		grep -h 'hs/s' <<<"$out" >&2 || true
		hs() { awk -v re="$1" '$1 ~ re { for (i = 1; i < NF; i++) if ($(i+1) == "hs/s") print $i }' <<<"$out" | median; }
		one=$(hs '/extra=0(#[0-9]+)?-')
		many=$(hs '/extra=[1-9][0-9]*(#[0-9]+)?-')
		[ -n "$one" ] && [ -n "$many" ] && record warren "$n" hs_ratio "$(awk -v a="$many" -v b="$one" 'BEGIN { printf "%.3f", a / b }')"
		echo "== send path, $n peers" >&2
		out=$(SCALE_BENCH_PEERS=$n go test -count=1 -run '^$' -bench '^BenchmarkScaleSendPath$' -benchtime 300000x -timeout 60m ./internal/device 2>&1) ||
			die "send path benchmark: $(tail -5 <<<"$out")"
		grep -h 'MB/s' <<<"$out" >&2 || true
		mbs() { awk -v re="$1" '$1 ~ re { for (i = 1; i < NF; i++) if ($(i+1) == "MB/s") print $i }' <<<"$out" | median; }
		one=$(mbs '/extra=0(#[0-9]+)?-')
		many=$(mbs '/extra=[1-9][0-9]*(#[0-9]+)?-')
		[ -n "$one" ] && [ -n "$many" ] && record warren "$n" send_ratio "$(awk -v a="$many" -v b="$one" 'BEGIN { printf "%.3f", a / b }')"
	fi
done

echo
echo "# scale.sh $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $REV, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| impl | peers | setconf s | setconf peak MiB | RSS MiB | bytes/peer | idle CPU ms/${IDLE}s | dump s | dump peak MiB | UAPI get s | wg set add ms | wg set remove ms | UAPI add ms | UAPI remove ms | hs/s N vs 0 | send MB/s N vs 0 |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for n in $NS_LIST; do
	for impl in $IMPLS; do
		grep -q "^$impl $n " "$WORK/results" || continue
		row="| $impl | $n"
		for m in setconf_s setconf_peak_mib rss_mib bytes_peer idle_cpu_ms dump_s dump_peak_mib get_s set_add_ms set_rm_ms uapi_add_ms uapi_rm_ms hs_ratio send_ratio; do
			v=$(awk -v i="$impl" -v n="$n" -v m="$m" '$1 == i && $2 == n && $3 == m { print $4 }' "$WORK/results")
			row="$row | ${v:--}"
		done
		echo "$row |"
	done
done
