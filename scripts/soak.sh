#!/usr/bin/env bash
# soak.sh: two warren daemons under load, churn and rekeys for a long time,
# and a verdict on whether anything was lost, stalled or leaked.
#
# Two fresh network namespaces joined by a veth pair, a warren daemon in each
# (LOG_LEVEL=verbose, logs to files) configured by `warren setconf` with
# SOAK_PEERS idle peers (test/bench/genpeers: random keys, one /32 each) plus
# the other daemon: the live pair. Then, for the whole run (test/soak):
#   traffic  one TCP stream (paced, SOAK_RATE bytes/s) whose bytes both ends
#            hash with SHA-256, compared at the end (every byte accounted
#            for), and a sequence-numbered UDP probe stream (100/s) that
#            counts loss, duplicates and altered datagrams and times outages;
#   churn    through each daemon's UAPI socket, 10 sets a second per daemon:
#            idle peers removed and added, their keys replaced, endpoints,
#            allowed IPs (including moving one from peer to peer) and
#            preshared keys changed; every 30 s `warren syncconf` of the
#            whole 1,000-peer configuration with changes in it; every 20 s
#            the live peers' allowed IPs and endpoint set again while they
#            carry the traffic, and every 60 s the live pair's preshared key
#            rotated at both ends; every 10 s each daemon's whole
#            configuration read back (get=1) and compared with what it was
#            told;
#   rekeys   the live pair rekeys by the protocol's timers alone
#            (REKEY_AFTER_TIME, 120 s): its handshake times are read from
#            get=1 every second;
#   resources each daemon's RSS, threads and open files from /proc/PID
#            (the daemon has no pprof endpoint, so threads stand in for
#            goroutines: a goroutine leak shows in RSS, not in threads).
# At the end both daemons get SIGTERM and must exit within 10 s, and a table
# says, for each pass criterion, what was measured (test/soak/report.go has
# the limits and why):
#   every TCP byte arrived and the SHA-256 matches; no UDP probe duplicated
#   or altered, at most 0.1% lost; no period without delivered data longer
#   than REKEY_TIMEOUT (5 s); no interval between successful handshakes
#   (including the last one to the end) longer than REKEY_AFTER_TIME +
#   REKEY_TIMEOUT + jitter + 1 s of measurement; RSS within ±10% between
#   warm-up and the end, threads and open files too (or ±2); every UAPI set
#   and syncconf accepted and the configuration read back as set; no ERROR,
#   panic or race line in either daemon's log, and no handshake retried
#   (REKEY_TIMEOUT expiring) after its response had arrived.
# The soak's own processes run at the daemons' priority: on a busy machine
# the table also shows how long the sender itself was paused, to tell a
# starved soak from a stalled tunnel.
# The exit status is 0 only if every criterion passed.
#
# Usage (root):  scripts/soak.sh [--minutes N]     (default 30; N may be a
#                fraction; CI runs --minutes 1)
# Environment:
#   SOAK_PEERS   idle peers per daemon (1000)
#   SOAK_RATE    TCP bytes per second through the tunnel (2500000)
#   SOAK_KEEP    a directory to keep the logs and raw reports in
#   SOAK_WARREN  a prebuilt warren binary to use instead of building one
#   SOAK_FAULT   AT:FOR drops all tunnel traffic on B's veth (nft) for FOR
#                seconds from AT seconds into the run: the soak must then
#                fail (a check of the soak itself)
set -euo pipefail
cd "$(dirname "$0")/.."
umask 077 # private keys

minutes=30
while (($#)); do
	case $1 in
	--minutes) minutes=${2:?--minutes needs a value}; shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "soak.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[[ $minutes =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "soak.sh: --minutes must be a number" >&2; exit 2; }
SECS=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')
((SECS >= 30)) || { echo "soak.sh: --minutes must be at least 0.5" >&2; exit 2; }
PEERS=${SOAK_PEERS:-1000}
RATE=${SOAK_RATE:-2500000}
# Resources are compared from the end of a warm-up (half the run, between
# 30 s and 3 min: in its first minute a daemon's heap is still finding its
# size), sampled about 200 times a run, at least every 2 s.
WARMUP=$((SECS / 2 < 30 ? 30 : SECS / 2 > 180 ? 180 : SECS / 2))
SAMPLE=$((SECS / 200 < 2 ? 2 : SECS / 200))

die() { echo "soak.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, TUN)"
for c in ip go awk; do command -v "$c" >/dev/null || die "needs $c in PATH"; done
[ -c /dev/net/tun ] || die "needs /dev/net/tun"

# Names unique to this run (the UAPI socket directory is shared by all
# namespaces, and interface names must fit in 15 bytes).
id=$(printf '%x' $$)
NSA=wrsoak-a-$id NSB=wrsoak-b-$id
VA=wrsva$id VB=wrsvb$id
WA=wrsa$id WB=wrsb$id
UA=192.168.242.1 UB=192.168.242.2
TA=10.250.0.1 TB=10.250.0.2
PORTA=51831 PORTB=51832 TCPPORT=5301 UDPPORT=5302
SOCKDIR=/var/run/wireguard

WORK=$(mktemp -d /tmp/warren-soak.XXXXXX)
PIDS=() # helpers, stopped at exit
PIDA= PIDB=
cleanup() {
	local p
	for p in "${PIDS[@]}" $PIDA $PIDB; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}" $PIDA $PIDB; do wait "$p" 2>/dev/null || true; done
	ip netns del "$NSA" 2>/dev/null || true
	ip netns del "$NSB" 2>/dev/null || true
	rm -f "$SOCKDIR/$WA.sock" "$SOCKDIR/$WB.sock"
	if [ -n "${SOAK_KEEP:-}" ]; then
		mkdir -p "$SOAK_KEEP" && cp "$WORK"/*.log "$WORK"/*.json "$WORK"/table "$SOAK_KEEP"/ 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== build" >&2
if [ -n "${SOAK_WARREN:-}" ]; then
	cp "$SOAK_WARREN" "$WORK/warren"
else
	go build -o "$WORK/warren" ./cmd/warren || die "build warren"
fi
go build -o "$WORK/soak" ./test/soak || die "build test/soak"
go build -o "$WORK/genpeers" ./test/bench/genpeers || die "build genpeers"

# a.conf and b.conf: genpeers' private key and idle peers, a listen port,
# and the other daemon as the live peer.
"$WORK/genpeers" -n "$PEERS" >"$WORK/a.conf" && "$WORK/genpeers" -n "$PEERS" >"$WORK/b.conf" || die "generate peers"
PUBA=$(awk '/^PrivateKey/ { print $3; exit }' "$WORK/a.conf" | "$WORK/warren" pubkey) || die "pubkey"
PUBB=$(awk '/^PrivateKey/ { print $3; exit }' "$WORK/b.conf" | "$WORK/warren" pubkey) || die "pubkey"
sed -i "/^PrivateKey/a ListenPort = $PORTA" "$WORK/a.conf"
sed -i "/^PrivateKey/a ListenPort = $PORTB" "$WORK/b.conf"
printf '\n[Peer]\nPublicKey = %s\nEndpoint = %s:%d\nAllowedIPs = %s/32\n' "$PUBB" "$UB" $PORTB "$TB" >>"$WORK/a.conf"
printf '\n[Peer]\nPublicKey = %s\nEndpoint = %s:%d\nAllowedIPs = %s/32\n' "$PUBA" "$UA" $PORTA "$TA" >>"$WORK/b.conf"

echo "== namespaces $NSA $NSB" >&2
ip netns add "$NSA" && ip netns add "$NSB" || die "create namespaces"
ip link add "$VA" netns "$NSA" type veth peer name "$VB" netns "$NSB" || die "create veth"
ip -n "$NSA" addr add "$UA/24" dev "$VA" && ip -n "$NSB" addr add "$UB/24" dev "$VB" || die "address veth"
for ns in "$NSA" "$NSB"; do ip -n "$ns" link set lo up; done
ip -n "$NSA" link set "$VA" up && ip -n "$NSB" link set "$VB" up || die "veth up"

# start_daemon NS IFACE LOG: sets DPID once the UAPI socket answers.
start_daemon() {
	local ns=$1 iface=$2 log=$3 i
	ip netns exec "$ns" env LOG_LEVEL=verbose "$WORK/warren" daemon -f "$iface" >"$log" 2>&1 &
	DPID=$!
	for ((i = 0; i < 100; i++)); do
		[ -S "$SOCKDIR/$iface.sock" ] && "$WORK/warren" show "$iface" >/dev/null 2>&1 && return 0
		kill -0 "$DPID" 2>/dev/null || die "daemon $iface exited at start: $(tail -5 "$log")"
		sleep 0.1
	done
	die "daemon $iface: no UAPI socket after 10 s"
}
echo "== daemons $WA $WB, $PEERS idle peers each" >&2
start_daemon "$NSA" "$WA" "$WORK/a.log"; PIDA=$DPID
start_daemon "$NSB" "$WB" "$WORK/b.log"; PIDB=$DPID
"$WORK/warren" setconf "$WA" "$WORK/a.conf" || die "setconf $WA"
"$WORK/warren" setconf "$WB" "$WORK/b.conf" || die "setconf $WB"
ip -n "$NSA" addr add "$TA/24" dev "$WA" && ip -n "$NSB" addr add "$TB/24" dev "$WB" || die "address tunnel"
ip -n "$NSA" link set "$WA" up && ip -n "$NSB" link set "$WB" up || die "tunnel up"
ok=0
for ((i = 0; i < 40; i++)); do
	ip netns exec "$NSA" ping -c 1 -W 0.5 "$TB" >/dev/null 2>&1 && { ok=1; break; }
done
((ok)) || die "no ping reply through the tunnel"

echo "== soak for $SECS s ($(date -u +%H:%M:%S) UTC): traffic, churn, rekeys" >&2
ip netns exec "$NSB" "$WORK/soak" recv -tcp "$TB:$TCPPORT" -udp "$TB:$UDPPORT" -out "$WORK/recv.json" 2>"$WORK/recv.log" &
RECV=$!
PIDS+=("$RECV")
"$WORK/soak" drive -a "$SOCKDIR/$WA.sock" -b "$SOCKDIR/$WB.sock" -a-live "$PUBB" -b-live "$PUBA" \
	-pids "$PIDA,$PIDB" -warren "$WORK/warren" -duration "${SECS}s" -sample "${SAMPLE}s" \
	-out "$WORK/drive.json" 2>"$WORK/drive.log" &
DRIVE=$!
PIDS+=("$DRIVE")
sleep 0.5 # the receiver listens
ip netns exec "$NSA" "$WORK/soak" send -tcp "$TB:$TCPPORT" -udp "$TB:$UDPPORT" -duration "${SECS}s" \
	-rate "$RATE" -out "$WORK/send.json" 2>"$WORK/send.log" &
SEND=$!
PIDS+=("$SEND")

# Progress once a minute: the live pair's last handshake and transfer as A sees it.
t0=$(date +%s)
next=60
fault_at=-1 fault_for=0
if [ -n "${SOAK_FAULT:-}" ]; then
	[[ $SOAK_FAULT =~ ^([0-9]+):([0-9]+)$ ]] || die "SOAK_FAULT must be AT:FOR (seconds)"
	fault_at=${BASH_REMATCH[1]} fault_for=${BASH_REMATCH[2]}
	command -v nft >/dev/null || die "SOAK_FAULT needs nft"
fi
while kill -0 "$SEND" 2>/dev/null; do
	sleep 1
	now=$(($(date +%s) - t0))
	if ((fault_at >= 0 && now >= fault_at)); then
		echo "   ${now}s: SOAK_FAULT: dropping the tunnel's packets for ${fault_for} s" >&2
		ip netns exec "$NSB" nft -f - <<-EOF || die "nft"
			table inet soakfault {
				chain in { type filter hook input priority 0; udp dport $PORTB drop; }
			}
		EOF
		sleep "$fault_for"
		ip netns exec "$NSB" nft delete table inet soakfault || die "nft"
		fault_at=-1
	fi
	if ((now >= next)); then
		next=$((next + 60))
		hs=$("$WORK/warren" show "$WA" latest-handshakes 2>/dev/null | awk -v k="$PUBB" '$1 == k { print $2 }')
		tx=$("$WORK/warren" show "$WA" transfer 2>/dev/null | awk -v k="$PUBB" '$1 == k { printf "%.0f MiB out, %.0f MiB in", $3 / 1048576, $2 / 1048576 }')
		echo "   ${now}s: last handshake $((${hs:-0} > 0 ? $(date +%s) - hs : -1)) s ago, $tx, RSS A $(awk '/^VmRSS/ { print $2 }' /proc/$PIDA/status 2>/dev/null) KiB" >&2
	fi
done
wait "$SEND" || echo "soak.sh: the sender failed: $(tail -3 "$WORK/send.log")" >&2
wait "$DRIVE" || echo "soak.sh: the churn failed: $(tail -3 "$WORK/drive.log")" >&2
# The receiver ends two seconds after the stream does; one still waiting
# for it after a minute is told to stop and write what it has.
for ((i = 0; i < 600; i++)); do kill -0 "$RECV" 2>/dev/null || break; sleep 0.1; done
kill -TERM "$RECV" 2>/dev/null || true
wait "$RECV" || echo "soak.sh: the receiver failed: $(tail -3 "$WORK/recv.log")" >&2
PIDS=()

# Both daemons must stop within 10 s of SIGTERM.
: >"$WORK/stops"
for d in "A $PIDA" "B $PIDB"; do
	read -r name pid <<<"$d"
	s0=$(date +%s.%N)
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"; wait "$pid" 2>/dev/null || true
		echo "$name -1 10" >>"$WORK/stops"
	else
		st=0; wait "$pid" || st=$?
		echo "$name $st $(awk -v a="$s0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')" >>"$WORK/stops"
	fi
done
PIDA= PIDB=

echo >&2
st=0
"$WORK/soak" report -send "$WORK/send.json" -recv "$WORK/recv.json" -drive "$WORK/drive.json" \
	-stops "$WORK/stops" -log "A=$WORK/a.log" -log "B=$WORK/b.log" -warmup "${WARMUP}s" \
	-title "warren soak, $(date -u '+%Y-%m-%d %H:%M UTC'), $((SECS / 60)) min $((SECS % 60)) s, $PEERS idle peers a daemon, $(uname -r), $(nproc) cores, warm-up ${WARMUP} s" \
	>"$WORK/table" || st=$?
cat "$WORK/table"
exit "$st"
