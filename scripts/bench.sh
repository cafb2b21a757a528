#!/usr/bin/env bash
# bench.sh: warren's data plane against wireguard-go's, side by side.
#
# Builds warren (this tree) and wireguard-go (the version go.mod pins, from
# the module proxy, into a temporary directory, never committed), joins two
# fresh network namespaces with a veth pair and, for each implementation in
# turn (the same one at both ends), measures through the tunnel:
#   TCP, 1 stream, tunnel MTU 1420 (and the daemons' CPU time during it)
#   TCP, 4 streams, MTU 1420
#   TCP, 1 stream, MTU 9000 (and the daemons' CPU time during it)
#   UDP, 64-byte payloads, packets per second received by iperf3 (whose
#     single-threaded server limits it: CPU the daemons leave it counts)
#   ping RTT (median of BENCH_PINGS pings, 10 ms apart)
#   latency under load: ping every 10 ms through the tunnel, in the same
#     direction, while a BENCH_LOAD-second iperf3 upload saturates it
#     (MTU 1420); p50, p99 and max of the RTTs, and the upload's throughput
#   resident memory of a daemon configured with BENCH_PEERS peers
#   rootless: a 64 MiB download through warren proxy's SOCKS5 server with
#     warren on its userspace stack at both ends, against the same proxy code
#     on the reference's netstack (best of 3, go test in internal/proxy)
#   handshakes: what a responder answers per second on one core, against the
#     X25519 work each handshake needs (go test benchmarks in internal/noise)
# Implementations alternate, round by round (the machine is shared, so only
# numbers from one run are comparable), and the table shows medians and the
# ratio warren/wireguard-go against the targets of issue 13: the median of the
# rounds' own ratios (the machine's speed drifts from round to round).
# The results also go to a JSON file and an SVG chart of each row, warren
# against the reference (drawn by scripts/benchchart).
#
# Usage (root):  scripts/bench.sh [--quick]
# Environment:
#   BENCH_ROUNDS    rounds, each running every implementation once (5; --quick 1)
#   BENCH_DURATION  seconds per iperf3 run (8; --quick 2)
#   BENCH_PINGS     pings per RTT measurement (50; --quick 20)
#   BENCH_PEERS     peers in the memory measurement (10000; --quick 1000)
#   BENCH_LOAD      seconds of the upload in the latency-under-load row (10;
#                   --quick 4); the pings start 1 s into it and end 1 s early
#   BENCH_ONLY      measure only these rows (space-separated metric names
#                   from the table, e.g. "tcp9000 load"; "load" is the
#                   latency-under-load group, "cpu" rides on tcp1420/tcp9000)
#   BENCH_PROFILE   a directory: while warren (the plain build) runs the
#                   TCP rows at MTU 1420 and 9000, perf records both daemons
#                   (PERF_FREQ Hz, 499) with call graphs, and
#                   scripts/benchflame draws flame-1420.svg and
#                   flame-9000.svg there, with the top functions in
#                   flame-*.txt (those rounds' numbers carry perf's cost)
#   BENCH_JSON      where the results go as JSON (docs/bench/results.json;
#                   --quick: a file in /tmp); the chart goes beside it, the
#                   .json replaced by .svg ("" writes neither)
#   BENCH_IMPLS     implementations to run ("ref warren"); a name of the form
#                   warren:VAR=VAL[,VAR=VAL] runs warren with those variables
#                   set, e.g. "ref warren warren:WARREN_TUN_OFFLOAD=0"; one
#                   of the form warren@PATH runs the warren binary at PATH
#                   (a build of another commit or with other constants),
#                   warren@PATH:VAR=VAL[,VAR=VAL] with those variables set;
#                   any name with the suffix +idle also configures
#                   BENCH_IDLE_PEERS idle peers (one random key and /32 each)
#                   on both daemons of the tunnel rows, e.g.
#                   BENCH_IMPLS="warren warren+idle" BENCH_ONLY="tcp1420 ping_ms load":
#                   one active peer among a million idle ones (issue 15)
#   BENCH_IDLE_PEERS idle peers of a +idle implementation (1000000)
#   BENCH_WARREN    a prebuilt warren binary to use instead of building one
#   BENCH_REF       a prebuilt wireguard-go binary to use instead of building one
#   BENCH_KEEP      a directory to keep the raw results in
# It exits non-zero only when it cannot set up or run a measurement at all;
# a target missed is reported in the table, not in the exit status.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 077 # private keys

quick=0
for a in "$@"; do
	case $a in
	--quick) quick=1 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d'; exit 0 ;;
	*) echo "bench.sh: unknown argument $a" >&2; exit 2 ;;
	esac
done
if ((quick)); then
	: "${BENCH_ROUNDS:=1}" "${BENCH_DURATION:=2}" "${BENCH_PINGS:=20}" "${BENCH_PEERS:=1000}" "${BENCH_LOAD:=4}"
	: "${BENCH_JSON=/tmp/warren-bench-quick.json}"
fi
ROUNDS=${BENCH_ROUNDS:-5}
DUR=${BENCH_DURATION:-8}
PINGS=${BENCH_PINGS:-50}
PEERS=${BENCH_PEERS:-10000}
LOAD=${BENCH_LOAD:-10}
IMPLS=${BENCH_IMPLS:-ref warren}
ONLY=${BENCH_ONLY:-}
JSON=${BENCH_JSON-docs/bench/results.json}
((LOAD >= 3)) || { echo "bench.sh: BENCH_LOAD must be at least 3 seconds" >&2; exit 2; }

# want ROW: whether BENCH_ONLY selects ROW (everything when it is empty).
want() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }

die() { echo "bench.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, TUN)"
for c in ip wg iperf3 ping jq awk go ${BENCH_PROFILE:+perf}; do
	command -v "$c" >/dev/null || die "needs $c in PATH"
done
[ -c /dev/net/tun ] || die "needs /dev/net/tun"

# Names unique to this run: namespaces, veth ends and WireGuard interfaces
# (the UAPI socket directory is shared by all namespaces).
id=$(printf '%x' $$)
NSA=wrbench-a-$id NSB=wrbench-b-$id
VA=wrbva$id VB=wrbvb$id
WA=wrba$id WB=wrbb$id WM=wrbm$id
UA=192.168.241.1 UB=192.168.241.2
TA=10.241.0.1 TB=10.241.0.2
PORTA=51821 PORTB=51822 IPERF_PORT=5211
SOCKDIR=/var/run/wireguard

WORK=$(mktemp -d /tmp/warren-bench.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	[ -f "$WORK/iperf.pid" ] && kill "$(cat "$WORK/iperf.pid")" 2>/dev/null || true
	ip netns del "$NSA" 2>/dev/null || true
	ip netns del "$NSB" 2>/dev/null || true
	rm -f "$SOCKDIR/$WA.sock" "$SOCKDIR/$WB.sock" "$SOCKDIR/$WM.sock"
	if [ -n "${BENCH_KEEP:-}" ]; then
		mkdir -p "$BENCH_KEEP" && cp "$WORK"/results "$WORK"/*.log "$BENCH_KEEP"/ 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== build" >&2
if [ -n "${BENCH_WARREN:-}" ]; then
	cp "$BENCH_WARREN" "$WORK/warren"
else
	go build -o "$WORK/warren" ./cmd/warren || die "build warren"
fi
if [ -n "${BENCH_REF:-}" ]; then
	cp "$BENCH_REF" "$WORK/wireguard-go"
else
	go build -o "$WORK/wireguard-go" golang.zx2c4.com/wireguard || die "build wireguard-go (go.mod pins it)"
fi
go run ./test/bench/genpeers -n "$PEERS" >"$WORK/peers.conf" || die "generate peers"
if [[ " $IMPLS " == *"+idle "* ]]; then
	# The peers alone, for addconf: genpeers' [Interface] would set a key.
	go run ./test/bench/genpeers -n "${BENCH_IDLE_PEERS:-1000000}" | sed '1,/^$/d' >"$WORK/idle.conf" ||
		die "generate idle peers"
fi
"$WORK/warren" genkey >"$WORK/a.key" && "$WORK/warren" genkey >"$WORK/b.key" || die "genkey"
PUBA=$("$WORK/warren" pubkey <"$WORK/a.key")
PUBB=$("$WORK/warren" pubkey <"$WORK/b.key")

echo "== namespaces $NSA $NSB" >&2
ip netns add "$NSA" && ip netns add "$NSB" || die "create namespaces"
ip link add "$VA" netns "$NSA" type veth peer name "$VB" netns "$NSB" || die "create veth"
ip -n "$NSA" addr add "$UA/24" dev "$VA" && ip -n "$NSB" addr add "$UB/24" dev "$VB" || die "address veth"
for ns in "$NSA" "$NSB"; do ip -n "$ns" link set lo up; done
ip -n "$NSA" link set "$VA" up && ip -n "$NSB" link set "$VB" up || die "veth up"
ip netns exec "$NSB" iperf3 -s -p "$IPERF_PORT" -D --pidfile "$WORK/iperf.pid" >/dev/null || die "start iperf3 server"
sleep 0.3

# daemon_argv IMPL IFACE: the command line (with env) running IMPL on IFACE in the foreground.
daemon_argv() {
	local impl=${1%+idle} iface=$2 envs=()
	case $impl in
	ref) echo "env LOG_LEVEL=error $WORK/wireguard-go -f $iface" ;;
	warren) echo "env LOG_LEVEL=error $WORK/warren daemon -f $iface" ;;
	warren:*)
		IFS=, read -r -a envs <<<"${impl#warren:}"
		echo "env LOG_LEVEL=error ${envs[*]} $WORK/warren daemon -f $iface" ;;
	warren@*)
		local bin=${impl#warren@}
		if [[ $bin == *:* ]]; then
			IFS=, read -r -a envs <<<"${bin#*:}"
			bin=${bin%%:*}
		fi
		[ -x "$bin" ] || die "$impl: no executable $bin"
		echo "env LOG_LEVEL=error ${envs[*]} $bin daemon -f $iface" ;;
	*) die "unknown implementation $impl" ;;
	esac
}

# start_daemon NS IMPL IFACE: starts it and sets DPID once its socket answers.
start_daemon() {
	local ns=$1 impl=$2 iface=$3 i
	# shellcheck disable=SC2046
	ip netns exec "$ns" $(daemon_argv "$impl" "$iface") >>"$WORK/daemon.log" 2>&1 &
	DPID=$!
	PIDS+=("$DPID")
	for ((i = 0; i < 100; i++)); do
		if [ -S "$SOCKDIR/$iface.sock" ] && ip netns exec "$ns" wg show "$iface" >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$DPID" 2>/dev/null || die "$impl daemon for $iface exited at start (see below)$(tail -5 "$WORK/daemon.log")"
		sleep 0.1
	done
	die "$impl daemon for $iface: no UAPI socket after 10 s"
}

stop_daemon() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# tunnel_up IMPL MTU: both daemons, configured and reachable; sets PIDA PIDB.
tunnel_up() {
	local impl=$1 mtu=$2 i
	local vmtu=$((mtu + 80 > 1500 ? mtu + 80 : 1500))
	ip -n "$NSA" link set "$VA" mtu "$vmtu" && ip -n "$NSB" link set "$VB" mtu "$vmtu" || die "veth mtu $vmtu"
	start_daemon "$NSA" "$impl" "$WA"; PIDA=$DPID
	start_daemon "$NSB" "$impl" "$WB"; PIDB=$DPID
	ip netns exec "$NSA" wg set "$WA" private-key "$WORK/a.key" listen-port $PORTA \
		peer "$PUBB" endpoint "$UB:$PORTB" allowed-ips "$TB/32" || die "configure $WA"
	ip netns exec "$NSB" wg set "$WB" private-key "$WORK/b.key" listen-port $PORTB \
		peer "$PUBA" endpoint "$UA:$PORTA" allowed-ips "$TA/32" || die "configure $WB"
	if [[ $impl == *+idle ]]; then
		ip netns exec "$NSA" wg addconf "$WA" "$WORK/idle.conf" || die "$impl: add idle peers to $WA"
		ip netns exec "$NSB" wg addconf "$WB" "$WORK/idle.conf" || die "$impl: add idle peers to $WB"
	fi
	ip -n "$NSA" addr add "$TA/24" dev "$WA" && ip -n "$NSB" addr add "$TB/24" dev "$WB" || die "address tunnel"
	ip -n "$NSA" link set "$WA" mtu "$mtu" up && ip -n "$NSB" link set "$WB" mtu "$mtu" up || die "tunnel up"
	for ((i = 0; i < 40; i++)); do
		ip netns exec "$NSA" ping -c 1 -W 0.5 "$TB" >/dev/null 2>&1 && return 0
	done
	die "$impl tunnel at MTU $mtu: no ping reply"
}

tunnel_down() {
	stop_daemon "$PIDA"
	stop_daemon "$PIDB"
}

cputicks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# iperf ARGS...: runs the client in NSA against NSB's tunnel address, JSON to stdout.
iperf() {
	local out
	if ! out=$(ip netns exec "$NSA" timeout $((DUR + 30)) iperf3 -c "$TB" -p "$IPERF_PORT" -t "$DUR" -J "$@" 2>&1); then
		echo "iperf3 $* failed: $(jq -r '.error // empty' <<<"$out" 2>/dev/null || echo "$out" | tail -2)" >&2
		return 1
	fi
	echo "$out"
}

# record IMPL METRIC VALUE
record() { echo "$1 $2 $3" >>"$WORK/results"; echo "   $1 $2 = $3" >&2; }

# rtts: the RTTs (ms) in ping's output on stdin, one a line, sorted.
rtts() { grep -o 'time=[0-9.]*' | cut -d= -f2 | sort -g; }

# quantile Q: the Q-quantile (0..1, nearest rank) of the sorted numbers on
# stdin, "-" when there are none.
quantile() {
	awk -v q="$1" '{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		k = int(q * NR); if (k < q * NR) k++; if (k < 1) k = 1
		printf "%.3f", v[k] }'
}

# tcp_with_cpu METRIC CPUMETRIC [ARGS...]: a TCP run recorded as METRIC
# (Gbit/s) and the daemons' CPU time during it, in cores per Gbit/s, as
# CPUMETRIC; profiled (BENCH_PROFILE) when it is warren's.
tcp_with_cpu() {
	local m=$1 cm=$2 out t0a t0b t1a t1b s0 s1 gbps perfpid=
	shift 2
	if [ -n "${BENCH_PROFILE:-}" ] && [ "$impl" = warren ]; then
		perf record -q -F "${PERF_FREQ:-499}" -g -p "$PIDA,$PIDB" -o "$WORK/perf-$m.data" -- sleep "$DUR" 2>>"$WORK/perf.log" &
		perfpid=$!
	fi
	t0a=$(cputicks "$PIDA") t0b=$(cputicks "$PIDB") s0=$(date +%s.%N)
	out=$(iperf "$@") || return 0
	if [ -n "$perfpid" ]; then
		wait "$perfpid" || echo "perf record failed: $(tail -3 "$WORK/perf.log")" >&2
		local flame=$BENCH_PROFILE/flame-${m#tcp}
		mkdir -p "$BENCH_PROFILE"
		if perf script -i "$WORK/perf-$m.data" 2>>"$WORK/perf.log" >"$WORK/perf-$m.txt" &&
			go run ./scripts/benchflame -comm warren -top 25 -o "$flame.svg" \
				-title "warren, TCP 1 stream, MTU ${m#tcp}, both daemons ($(date -u '+%Y-%m-%d'), $(nproc) cores)" \
				"$WORK/perf-$m.txt" 2>"$flame.txt"; then
			chmod 644 "$flame.svg" "$flame.txt"
			echo "   flame graph: $flame.svg" >&2
		else
			echo "flame graph for $m failed: $(tail -3 "$flame.txt" "$WORK/perf.log")" >&2
		fi
	fi
	t1a=$(cputicks "$PIDA") t1b=$(cputicks "$PIDB") s1=$(date +%s.%N)
	gbps=$(jq '.end.sum_received.bits_per_second / 1e9' <<<"$out")
	record "$impl" "$m" "$gbps"
	record "$impl" "$cm" "$(awk -v d=$((t1a - t0a + t1b - t0b)) -v hz="$HZ" -v s0="$s0" -v s1="$s1" -v g="$gbps" \
		'BEGIN { cores = d / hz / (s1 - s0); printf "%.3f", (g > 0 ? cores / g : 0) }')"
}

# ping_under_load: pings every 10 ms from NSA to NSB's tunnel address
# while an iperf3 upload in the same direction saturates the tunnel, from
# 1 s after the upload starts to 1 s before it ends; records the RTTs' p50,
# p99 and max, the share of pings lost, and the upload's throughput.
ping_under_load() {
	local n=$(((LOAD - 2) * 100)) out iperfpid sorted
	ip netns exec "$NSA" timeout $((LOAD + 30)) iperf3 -c "$TB" -p "$IPERF_PORT" -t "$LOAD" -J >"$WORK/load.json" 2>&1 &
	iperfpid=$!
	sleep 1
	out=$(ip netns exec "$NSA" ping -D -c "$n" -i 0.01 -W 1 "$TB" 2>&1) || true
	{ echo "== $impl"; echo "$out"; } >>"$WORK/load-pings.log" # kept with BENCH_KEEP
	if ! wait "$iperfpid"; then
		echo "iperf3 under the pings failed: $(jq -r '.error // empty' "$WORK/load.json" 2>/dev/null)" >&2
		return 0
	fi
	sorted=$(rtts <<<"$out")
	[ -n "$sorted" ] || { echo "ping under load: no replies" >&2; return 0; }
	record "$impl" load_p50_ms "$(quantile 0.50 <<<"$sorted")"
	record "$impl" load_p99_ms "$(quantile 0.99 <<<"$sorted")"
	record "$impl" load_max_ms "$(quantile 1 <<<"$sorted")"
	record "$impl" load_loss_pct "$(awk -v n="$n" -v r="$(wc -l <<<"$sorted")" 'BEGIN { printf "%.1f", 100 * (n - r) / n }')"
	record "$impl" load_gbps "$(jq '.end.sum_received.bits_per_second / 1e9' "$WORK/load.json")"
}

measure_tunnel() {
	local impl=$1 out
	if want tcp1420 || want cpu_per_gbps || want tcp1420x4 || want udp64_kpps || want ping_ms || want load; then
		tunnel_up "$impl" 1420
		if want tcp1420 || want cpu_per_gbps; then tcp_with_cpu tcp1420 cpu_per_gbps; fi
		if want tcp1420x4 && out=$(iperf -P 4); then
			record "$impl" tcp1420x4 "$(jq '.end.sum_received.bits_per_second / 1e9' <<<"$out")"
		fi
		if want udp64_kpps && out=$(iperf -u -l 64 -b 10G); then
			# Received packets per second: sent minus those the server missed.
			record "$impl" udp64_kpps "$(jq '(.end.sum.packets - .end.sum.lost_packets) / .end.sum.seconds / 1e3' <<<"$out")"
		fi
		if want ping_ms && out=$(ip netns exec "$NSA" ping -c "$PINGS" -i 0.01 "$TB" 2>&1); then
			record "$impl" ping_ms "$(rtts <<<"$out" | quantile 0.5)"
		fi
		if want load; then ping_under_load; fi
		tunnel_down
	fi
	if want tcp9000 || want cpu9000_per_gbps; then
		tunnel_up "$impl" 9000
		tcp_with_cpu tcp9000 cpu9000_per_gbps
		tunnel_down
	fi
}

measure_memory() {
	local impl=$1 rss
	start_daemon "$NSA" "$impl" "$WM"
	ip netns exec "$NSA" wg setconf "$WM" "$WORK/peers.conf" || die "$impl: setconf $PEERS peers"
	sleep 2
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$DPID/status")
	record "$impl" rss_mib "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')"
	stop_daemon "$DPID"
}

: >"$WORK/results"
HZ=$(getconf CLK_TCK)
read -r -a impls <<<"$IMPLS"
for ((r = 1; r <= ROUNDS; r++)); do
	# Alternate which implementation goes first, so drift in the machine's
	# load does not always favour the same one.
	order=("${impls[@]}")
	if ((r % 2 == 0)); then
		order=()
		for ((i = ${#impls[@]} - 1; i >= 0; i--)); do order+=("${impls[i]}"); done
	fi
	for impl in "${order[@]}"; do
		echo "== round $r/$ROUNDS: $impl" >&2
		measure_tunnel "$impl"
		if want rss_mib; then measure_memory "$impl"; fi
	done
done

# Rootless mode: SOCKS5 throughput on the userspace stacks (no namespaces).
if ! want socks5_mbps; then
	:
elif echo "== rootless SOCKS5 download" >&2; out=$(WARREN_BENCH=1 go test -count=1 -run '^TestSOCKS5ThroughputRatio$' -v ./internal/proxy 2>&1); then
	line=$(grep -o 'socks5_download_mbps warren=[0-9.]* reference=[0-9.]*' <<<"$out" | tail -n 1)
	if [ -n "$line" ]; then
		w=${line#*warren=}; w=${w%% *}
		r=${line##*reference=}
		record ref socks5_mbps "$r"
		record warren socks5_mbps "$w"
	fi
else
	echo "bench.sh: rootless SOCKS5 measurement failed:" >&2
	tail -n 20 <<<"$out" >&2
	exit 1
fi

# --- handshakes ------------------------------------------------------------
# measure_handshake: BenchmarkResponder (the responder's whole work for one
# handshake) and BenchmarkResponderX25519 (1 keygen + 3 DH, the X25519 work
# it cannot avoid) on one core, 3 counts each, recorded as warren and x25519
# handshake_hs. The table sets the medians against each other, not against
# the reference.
measure_handshake() {
	local out vals
	echo "== handshakes, 1 core" >&2
	if ! out=$(go test -count 3 -run '^$' -bench 'BenchmarkResponder' -cpu 1 -benchtime 2s ./internal/noise 2>&1); then
		echo "bench.sh: handshake measurement failed:" >&2
		tail -n 20 <<<"$out" >&2
		exit 1
	fi
	vals=$(awk '{ sub(/-[0-9]+$/, "", $1); for (i = 3; i < NF; i++) if ($(i + 1) == "hs/s") print $1, $i }' <<<"$out")
	[ -n "$vals" ] || echo "bench.sh: no hs/s in the handshake benchmarks' output" >&2
	while read -r name v; do
		case $name in
		BenchmarkResponder) record warren handshake_hs "$v" ;;
		BenchmarkResponderX25519) record x25519 handshake_hs "$v" ;;
		esac
	done <<<"$vals"
}
if want handshake_hs; then measure_handshake; fi
# --- end handshakes ---------------------------------------------------------

# The table: medians per implementation, and each warren variant against ref.
median() { # IMPL METRIC
	awk -v i="$1" -v m="$2" '$1 == i && $2 == m { print $3 }' "$WORK/results" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# paired IMPL BASE METRIC: the median over rounds of IMPL's value divided
# by BASE's in the same round (the n-th of each): on a shared machine whose
# speed drifts between rounds, pairing keeps the drift out of the ratio.
paired() {
	awk -v i="$1" -v b="$2" -v m="$3" '$2 == m && $1 == i { a[++na] = $3 } $2 == m && $1 == b { r[++nb] = $3 }
		END { for (k = 1; k <= na && k <= nb; k++) if (r[k] + 0 != 0) print a[k] / r[k] }' "$WORK/results" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# values IMPL METRIC: IMPL's values of METRIC in run order, as a JSON array.
values() {
	awk -v i="$1" -v m="$2" '$1 == i && $2 == m { printf "%s%s", (n++ ? "," : ""), $3 } BEGIN { printf "[" } END { print "]" }' "$WORK/results"
}
date_utc=$(date -u '+%Y-%m-%d %H:%M UTC')
machine=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
# The inner TCP's congestion control sets how deep a queue a flow keeps
# (BBR: about twice the path's bandwidth-delay product and what it allows
# for ACKs arriving in bursts), so the latency row depends on it.
cc=$(ip netns exec "$NSA" sysctl -n net.ipv4.tcp_congestion_control 2>/dev/null || echo unknown)
echo
echo "warren vs wireguard-go, $date_utc, ${machine:-unknown CPU}, $(uname -r), $(nproc) cores, TCP $cc, $ROUNDS rounds x ${DUR}s"
metrics="tcp1420 tcp9000 tcp1420x4 udp64_kpps ping_ms load_p50_ms load_p99_ms load_max_ms load_loss_pct load_gbps
	cpu_per_gbps cpu9000_per_gbps rss_mib socks5_mbps handshake_hs"
declare -A label=(
	[tcp1420]="TCP 1 stream, MTU 1420" [tcp9000]="TCP 1 stream, MTU 9000"
	[tcp1420x4]="TCP 4 streams, MTU 1420" [udp64_kpps]="UDP 64 B received"
	[ping_ms]="ping RTT median, idle"
	[load_p50_ms]="ping RTT p50 under load" [load_p99_ms]="ping RTT p99 under load"
	[load_max_ms]="ping RTT max under load" [load_loss_pct]="pings lost under load"
	[load_gbps]="TCP 1 stream under the pings, MTU 1420"
	[cpu_per_gbps]="CPU cores per Gbit/s, MTU 1420" [cpu9000_per_gbps]="CPU cores per Gbit/s, MTU 9000"
	[rss_mib]="RSS with $PEERS peers" [socks5_mbps]="SOCKS5 download, rootless"
	[handshake_hs]="handshakes/s responder, 1 core (vs X25519 limit)")
declare -A unit=(
	[tcp1420]="Gbit/s" [tcp9000]="Gbit/s" [tcp1420x4]="Gbit/s" [udp64_kpps]="kpps" [ping_ms]="ms"
	[load_p50_ms]="ms" [load_p99_ms]="ms" [load_max_ms]="ms" [load_loss_pct]="%" [load_gbps]="Gbit/s"
	[cpu_per_gbps]="cores/(Gbit/s)" [cpu9000_per_gbps]="cores/(Gbit/s)" [rss_mib]="MiB"
	[socks5_mbps]="Mbit/s" [handshake_hs]="hs/s")
# target: how the ratio warren/ref must compare ("ge X", "le X", "lt X"),
# "diff X" for the idle ping (warren at most X ms above), "none" for a row
# shown for context.
declare -A target=(
	[tcp1420]="ge 1.5" [tcp9000]="ge 1.5" [tcp1420x4]="ge 1.0" [udp64_kpps]="ge 1.3"
	[ping_ms]="diff 0.1" [load_p50_ms]="none" [load_p99_ms]="le 0.5" [load_max_ms]="none"
	[load_loss_pct]="none" [load_gbps]="none"
	[cpu_per_gbps]="le 0.5" [cpu9000_per_gbps]="le 0.5" [rss_mib]="le 0.15" [socks5_mbps]="ge 3.0"
	[handshake_hs]="ge 0.9")
# better: which way is good for the chart.
lower="ping_ms load_p50_ms load_p99_ms load_max_ms load_loss_pct cpu_per_gbps cpu9000_per_gbps rss_mib"
targettext() {
	case $1 in
	diff*) printf 'warren within +%s ms' "${1#diff }" ;;
	ge*) printf 'ratio >= %s' "${1#ge }" ;;
	le*) printf 'ratio <= %s' "${1#le }" ;;
	lt*) printf 'ratio < %s' "${1#lt }" ;;
	none) printf -- '-' ;;
	esac
}
others=()
for impl in "${impls[@]}"; do [ "$impl" != ref ] && others+=("$impl"); done
: >"$WORK/rows.jsonl"
{
	printf '%-58s %10s' "metric" "ref"
	k=0
	for o in "${others[@]}"; do
		name=$o
		if [ "${#name}" -gt 10 ]; then k=$((k + 1)); name="variant$k"; fi
		printf ' %10s %8s %5s' "$name" "ratio" "ok"
	done
	printf '   target\n'
	for m in $metrics; do
		base=ref
		case $m in handshake_hs) base=x25519 ;; esac # its "ref" column is the X25519 limit
		refv=$(median "$base" "$m")
		all="$refv"
		for o in "${others[@]}"; do all="$all$(median "$o" "$m")"; done
		[ "$all" = "$(printf -- '-%.0s' $(seq $((1 + ${#others[@]}))))" ] && continue # not measured
		printf '%-58s %10s' "${label[$m]} (${unit[$m]})" "$refv"
		res=$(jq -nc --arg impl "$base" --argjson values "$(values "$base" "$m")" \
			'{impl: $impl, values: $values, median: (if ($values | length) > 0 then ($values | sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end) else null end)}')
		for o in "${others[@]}"; do
			v=$(median "$o" "$m")
			pr=$(paired "$o" "$base" "$m")
			read -r ratio ok < <(awk -v a="$v" -v b="$refv" -v pr="$pr" -v t="${target[$m]}" 'BEGIN {
				split(t, p, " ")
				if (a == "-" || b == "-" || b + 0 == 0) { print "- -"; exit }
				r = pr == "-" ? a / b : pr
				if (p[1] == "ge") ok = r >= p[2]; else if (p[1] == "le") ok = r <= p[2]
				else if (p[1] == "lt") ok = r < p[2]; else if (p[1] == "diff") ok = (a - b) <= p[2]
				else { printf "%.2f -\n", r; exit }
				printf "%.2f %s\n", r, ok ? "yes" : "NO" }')
			printf ' %10s %8s %5s' "$v" "$ratio" "$ok"
			res="$res
$(jq -nc --arg impl "$o" --argjson values "$(values "$o" "$m")" --arg median "$v" --arg ratio "$ratio" --arg ok "$ok" \
				'{impl: $impl, values: $values, median: (if $median == "-" then null else ($median | tonumber) end),
				  ratio: (if $ratio == "-" then null else ($ratio | tonumber) end),
				  ok: (if $ok == "yes" then true elif $ok == "NO" then false else null end)}')"
		done
		printf '   %s\n' "$(targettext "${target[$m]}")"
		better=higher
		[[ " $lower " == *" $m "* ]] && better=lower
		jq -c --slurp --arg metric "$m" --arg lbl "${label[$m]}" --arg unit "${unit[$m]}" \
			--arg target "$(targettext "${target[$m]}")" --arg better "$better" \
			'{metric: $metric, "label": $lbl, unit: $unit, better: $better, target: $target, results: .}' \
			<<<"$res" >>"$WORK/rows.jsonl"
	done
}
k=0
for o in "${others[@]}"; do
	if [ "${#o}" -gt 10 ]; then k=$((k + 1)); echo "variant$k = $o"; fi
done
echo
echo "raw (impl metric value, in run order):"
sed 's/^/  /' "$WORK/results"

if [ -n "$JSON" ]; then
	mkdir -p "$(dirname "$JSON")"
	jq --slurp --arg date "$date_utc" --arg machine "${machine:-unknown CPU}" --arg kernel "$(uname -r)" --arg cc "$cc" \
		--argjson cores "$(nproc)" --argjson rounds "$ROUNDS" --argjson duration "$DUR" --argjson load "$LOAD" \
		--argjson quick "$quick" --arg impls "$IMPLS" \
		'{date: $date, machine: $machine, kernel: $kernel, tcp_cc: $cc, cores: $cores, rounds: $rounds,
		  duration_s: $duration, load_s: $load, quick: ($quick == 1), impls: ($impls | split(" ") | map(select(. != ""))),
		  rows: .}' "$WORK/rows.jsonl" >"$JSON.tmp" && mv "$JSON.tmp" "$JSON" || die "write $JSON"
	chmod 644 "$JSON"
	svg=${JSON%.json}.svg
	go run ./scripts/benchchart -o "$svg" "$JSON" || die "draw $svg"
	chmod 644 "$svg"
	echo "results: $JSON, chart: $svg"
fi
