#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# bench.sh - make bench (root): portier against the alternatives, on the same
# namespaces, in one run, interleaved, REPS repetitions, median and spread.
#
#   1. packet rate to a sink (tools/trafgen): bare XDP redirect (ceiling),
#      portier established and new flows, nftables DNAT (numgen inc mod 3,
#      conntrack) established and new flows, kernel forwarding without NAT;
#   2. TCP through the gateway (wrk -> gateway -> nginx on three nodes):
#      portier vs HAProxy TCP roundrobin vs nftables DNAT+SNAT vs direct;
#   3. per-packet cost (tools/pktcost, by BPF_PROG_TEST_RUN);
#   4. scale: rate and in-place cost with 1 / 1,000 / 1,000,000 flows and
#      6 / 1,000 / 10,000 routes; daemon time to apply 1,000 routes and to
#      reload with one changed.
# Prints one table; writes docs/benchmarks-e2e.md.
#
#   BUILD=build tools/bench.sh     env: REPS (3), SECS (2), WRK_SECS (3),
#                                  SECTIONS ("rate tcp cost scale")
#
# Rate topology (one core does all: veth runs the receiver on the sender):
#   gen ns  c0 198.51.100.2 -- in0 198.51.100.1  gw ns  out0 203.0.113.1
#     -- eth0 203.0.113.2,.3,.4  sink ns (XDP sink counts and drops)
# TCP topology: tests/e2e/lib.sh (client, gateway, bridge, nodes .2 .3 .4).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
REPS=${REPS:-3}
SECS=${SECS:-2}
WRK_SECS=${WRK_SECS:-3}
SECTIONS=${SECTIONS:-rate tcp cost scale}
TRAFGEN=$ROOT/$BUILD/trafgen
PKTCOST=$ROOT/$BUILD/pktcost
export PORTIER_BIN=$ROOT/$BUILD/portier
DOC=$ROOT/docs/benchmarks-e2e.md

[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (namespaces, XDP)" >&2; exit 1; }
for f in "$TRAFGEN" "$PORTIER_BIN"; do
	[ -x "$f" ] || { echo "bench: $f missing; run 'make BUILD=$BUILD bench'" >&2; exit 1; }
done
for t in nft haproxy nginx wrk conntrack ethtool; do
	command -v "$t" >/dev/null || { echo "bench: $t missing; run 'make deps'" >&2; exit 1; }
done

# shellcheck source=../tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

SVC_TCP=30080		# the benchmark route, TCP (SYN floods, wrk)
SVC_UDP=30086		# the benchmark route, UDP (established flows)
HAPROXY_PORT=30180	# HAProxy listens here on the gateway
NFT_PORT=30280		# nftables DNAT(+SNAT) on this port
PLAIN_PORT=9		# to a sink address directly: plain forwarding
SRC_BASE=198.18.0.1	# generator sources (RFC 2544 benchmark range)
EST_FLOWS=1000		# flows of the "established" measurements
NEW_FLOWS=16777216	# distinct SYNs of the "new flows" measurements
SCALE_CT=3000000	# connection table entries for the scale runs
WRK_CONNS=16
T_START=$(date +%s)
BENCH_PIDS=()
SYSCTL_STATS_OLD=

log() { echo "bench: $*" >&2; }

cleanup() {
	set +e
	[ -n "$SYSCTL_STATS_OLD" ] && sysctl -qw kernel.bpf_stats_enabled="$SYSCTL_STATS_OLD"
	rate_daemon_stop
	for p in "${BENCH_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for n in "${R_NS[@]}"; do ip netns del "$n" 2>/dev/null; done
	[ -n "${R_TMP:-}" ] && { umount "$R_TMP/bpffs" 2>/dev/null; rm -rf "$R_TMP"; }
	[ -n "${E2E_ID:-}" ] && e2e_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- statistics -----------------------------------------------------------

# stat_of VALUES...: "median min max" (numbers).
stat_of() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%g %g %g\n", m, v[1], v[NR] }'
}

# RES[key] holds space-separated samples.
declare -A RES
add() { [ "$2" = nan ] || RES[$1]="${RES[$1]:-} $2"; }
med() { [ -n "${RES[$1]:-}" ] && stat_of ${RES[$1]} | cut -d' ' -f1 || echo nan; }
spread() {
	[ -n "${RES[$1]:-}" ] || { echo "-"; return; }
	stat_of ${RES[$1]} | awk '{ if ($1 > 0) printf "±%.0f%%", 50 * ($3 - $2) / $1; else print "-" }'
}
ratio() { awk -v a="$(med "$1")" -v b="$(med "$2")" 'BEGIN {
	if (a == "nan" || b == "nan" || b == 0) print "-"; else printf "%.2f", a / b }'; }

# ---- rate topology ----------------------------------------------------------

rate_up() {
	R_ID=$$-$RANDOM
	R_GEN=tbg-$R_ID R_GW=tbw-$R_ID R_SINK=tbs-$R_ID
	R_NS=("$R_GEN" "$R_GW" "$R_SINK")
	R_TMP=$(mktemp -d /tmp/portier-bench.XXXXXX)
	mkdir -p "$R_TMP/bpffs"
	mount -t bpf bpf "$R_TMP/bpffs"
	for n in "${R_NS[@]}"; do
		ip netns add "$n"
		ns "$n" ip link set lo up
	done
	veth_pair "$R_GEN" c0 "$R_GW" in0
	veth_pair "$R_GW" out0 "$R_SINK" eth0
	ns "$R_GEN" ip addr add "$CLIENT_ADDR/24" dev c0
	ns "$R_GW" ip addr add "$GW_IN_ADDR/24" dev in0
	ns "$R_GW" ip addr add "$GW_OUT_ADDR/24" dev out0
	ns "$R_GW" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.in0.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	ns "$R_GW" ip route add 198.18.0.0/15 via "$CLIENT_ADDR"
	local mac o
	mac=$(ns "$R_SINK" cat /sys/class/net/eth0/address)
	for o in 2 3 4; do
		ns "$R_SINK" ip addr add "$GW_NET.$o/24" dev eth0 2>/dev/null || true
		# Permanent neighbours: no ARP in the figures.
		ns "$R_GW" ip neigh replace "$GW_NET.$o" lladdr "$mac" dev out0 nud permanent
	done
	R_DMAC=$(ns "$R_GW" cat /sys/class/net/in0/address)
	ns "$R_SINK" "$TRAFGEN" sink --dev eth0 --pin "$R_TMP/bpffs/sink"
}

# gen PROTO DST DPORT FLOWS [send options...]: one trafgen run; prints the
# sink's packet rate.
gen() {
	local proto=$1 dst=$2 dport=$3 flows=$4 out
	shift 4
	out=$(ns "$R_GEN" timeout 120 "$TRAFGEN" send --dev c0 --dmac "$R_DMAC" --src "$SRC_BASE" \
		--dst "$dst" --dport "$dport" --proto "$proto" --flows "$flows" \
		--sink "$R_TMP/bpffs/sink" "$@")
	echo "$out" | sed -n 's/.*sink_pps=\([0-9]*\).*/\1/p'
}

# inv_bench DIR ROUTES: an inventory, gateway-1 forwarding ROUTES routes to
# the three sink addresses: the benchmark's TCP and UDP routes first, then
# filler TCP routes on ports 40000 up.
inv_bench() {
	local dir=$1 n=$2 i
	mkdir -p "$dir/group_vars"
	cat >"$dir/hosts.yml" <<EOF
all:
  children:
    bench_gw:
      hosts:
        gateway-1: {ansible_host: $GW_OUT_ADDR}
    bench_nodes:
      hosts:
        node-2: {ansible_host: $GW_NET.2}
        node-3: {ansible_host: $GW_NET.3}
        node-4: {ansible_host: $GW_NET.4}
EOF
	{
		echo "proxies:"
		echo "  target: {group: bench_gw}"
		echo "  routes:"
		echo "    web: {mode: tcp, address: '*', port: $SVC_TCP, destination:" \
			"{group: {name: bench_nodes, port: $SVC_TCP}, balance: roundrobin}}"
		echo "    dgram: {mode: tcp, proto: udp, address: '*', port: $SVC_UDP, destination:" \
			"{group: {name: bench_nodes, port: $SVC_UDP}, balance: roundrobin}}"
		for ((i = 2; i < n; i++)); do
			echo "    r$i: {mode: tcp, address: '*', port: $((40000 + i)), destination:" \
				"{group: {name: bench_nodes, port: $((40000 + i))}, balance: roundrobin}}"
		done
	} >"$dir/group_vars/bench_gw.yml"
}

R_DAEMON=
R_START_SECS=
# rate_daemon_start INV [options]: portier in the rate gateway; sets
# R_START_SECS to the seconds from launch to "running". Not in a subshell:
# R_DAEMON must reach the caller (and the trap).
rate_daemon_start() {
	local inv=$1 t0 i
	shift
	R_LOG=$R_TMP/daemon.log
	: >"$R_LOG"
	t0=$(date +%s.%N)
	ip netns exec "$R_GW" "$PORTIER_BIN" daemon -i "$inv" --host gateway-1 --input in0 \
		--output out0 --bpffs "$R_TMP/bpffs/portier" "$@" >>"$R_LOG" 2>&1 &
	R_DAEMON=$!
	for ((i = 0; i < 600; i++)); do
		grep -qs 'running:' "$R_LOG" && break
		kill -0 "$R_DAEMON" 2>/dev/null || { cat "$R_LOG" >&2; return 1; }
		sleep 0.05
	done
	grep -qs 'running:' "$R_LOG" || { cat "$R_LOG" >&2; return 1; }
	R_START_SECS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f\n", b - a }')
}

rate_daemon_stop() {
	local i
	[ -n "$R_DAEMON" ] || return 0
	kill -TERM "$R_DAEMON" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$R_DAEMON" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$R_DAEMON" 2>/dev/null || true
	wait "$R_DAEMON" 2>/dev/null || true
	R_DAEMON=
}

# The in-place cost of portier's XDP program on in0 (bpf_stats): ns/packet.
prog_id_in() {
	bpftool -j link show pinned "$R_TMP/bpffs/portier/link_input" |
		sed -n 's/.*"prog_id":\([0-9]*\).*/\1/p'
}
prog_counts() {	# ID -> "run_time_ns run_cnt"
	bpftool -j prog show id "$1" | sed -n \
		's/.*"run_time_ns":\([0-9]*\).*"run_cnt":\([0-9]*\).*/\1 \2/p'
}

# nft_dnat SNAT NS: DNAT round-robin to the three nodes (conntrack) in NS;
# with SNAT non-empty, masquerade too.
nft_dnat() {
	local snat=$1
	ns "$2" nft -f - <<EOF
table ip bench {
	chain pre {
		type nat hook prerouting priority dstnat;
		ip daddr $GW_IN_ADDR tcp dport $SVC_TCP dnat to numgen inc mod 3 map { 0 : $GW_NET.2, 1 : $GW_NET.3, 2 : $GW_NET.4 }
		ip daddr $GW_IN_ADDR tcp dport $NFT_PORT dnat to numgen inc mod 3 map { 0 : $GW_NET.2, 1 : $GW_NET.3, 2 : $GW_NET.4 } : $SVC_TCP
		ip daddr $GW_IN_ADDR udp dport $SVC_UDP dnat to numgen inc mod 3 map { 0 : $GW_NET.2, 1 : $GW_NET.3, 2 : $GW_NET.4 }
	}
	chain post {
		type nat hook postrouting priority srcnat;
		${snat:+oifname "out0" ct status dnat masquerade}
	}
}
EOF
}
nft_off() { ns "$1" nft delete table ip bench 2>/dev/null || true; ns "$1" conntrack -F 2>/dev/null || true; }

# ---- 1. packet rate -----------------------------------------------------------

one_rate() {	# one_rate CONFIG: one sample of CONFIG into RES[rate:CONFIG]
	local c=$1 v
	case $c in
	bare)
		ns "$R_GW" "$TRAFGEN" bare --dev in0 --out out0
		v=$(gen udp "$GW_NET.2" "$PLAIN_PORT" "$EST_FLOWS" --duration "$SECS")
		ns "$R_GW" ip link set dev in0 xdp off ;;
	portier-est)
		rate_daemon_start "$R_TMP/inv6" --nat dnat
		gen udp "$GW_IN_ADDR" "$SVC_UDP" "$EST_FLOWS" --count "$EST_FLOWS" >/dev/null
		v=$(gen udp "$GW_IN_ADDR" "$SVC_UDP" "$EST_FLOWS" --duration "$SECS")
		rate_daemon_stop ;;
	portier-new)
		rate_daemon_start "$R_TMP/inv6" --nat dnat
		v=$(gen syn "$GW_IN_ADDR" "$SVC_TCP" "$NEW_FLOWS" --duration "$SECS")
		rate_daemon_stop ;;
	nft-est)
		nft_dnat "" "$R_GW"
		gen udp "$GW_IN_ADDR" "$SVC_UDP" "$EST_FLOWS" --count "$EST_FLOWS" >/dev/null
		v=$(gen udp "$GW_IN_ADDR" "$SVC_UDP" "$EST_FLOWS" --duration "$SECS")
		nft_off "$R_GW" ;;
	nft-new)
		nft_dnat "" "$R_GW"
		v=$(gen syn "$GW_IN_ADDR" "$SVC_TCP" "$NEW_FLOWS" --duration "$SECS")
		nft_off "$R_GW" ;;
	plain)
		v=$(gen udp "$GW_NET.2" "$PLAIN_PORT" "$EST_FLOWS" --duration "$SECS") ;;
	esac
	add "rate:$c" "${v:-0}"
}

RATE_CONFIGS=(bare portier-est portier-new nft-est nft-new plain)
section_rate() {
	local r c
	for ((r = 1; r <= REPS; r++)); do
		for c in "${RATE_CONFIGS[@]}"; do
			one_rate "$c"
		done
		log "rate: repetition $r/$REPS done"
	done
}

# ---- 2. TCP through the gateway -------------------------------------------------

nginx_start() {	# nginx_start NS: a tiny HTTP server on SVC_TCP in NS
	local n=$1 d=$E2E_TMP/nginx-$1
	mkdir -p "$d"
	cat >"$d/nginx.conf" <<EOF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
daemon off;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $d; proxy_temp_path $d; fastcgi_temp_path $d;
	uwsgi_temp_path $d; scgi_temp_path $d;
	keepalive_requests 1000000;
	server { listen $SVC_TCP reuseport backlog=4096; location / { return 200 "ok\n"; } }
}
EOF
	ip netns exec "$n" nginx -c "$d/nginx.conf" -p "$d" >"$d/out" 2>&1 &
	BENCH_PIDS+=($!)
}

haproxy_start() {
	local d=$E2E_TMP/haproxy
	mkdir -p "$d"
	cat >"$d/haproxy.cfg" <<EOF
global
	maxconn 8000
defaults
	mode tcp
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend bench
	bind $GW_IN_ADDR:$HAPROXY_PORT
	default_backend nodes
backend nodes
	balance roundrobin
	server node-2 $GW_NET.2:$SVC_TCP
	server node-3 $GW_NET.3:$SVC_TCP
	server node-4 $GW_NET.4:$SVC_TCP
EOF
	ip netns exec "$NS_GW" haproxy -db -f "$d/haproxy.cfg" >"$d/out" 2>&1 &
	HAPROXY_PID=$!
	BENCH_PIDS+=($!)
}

# cpu_busy: busy jiffies of all CPUs (user nice system irq softirq steal).
cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# to_us VALUE: wrk's "1.23ms" / "456.00us" / "1.2s" in microseconds.
to_us() {
	echo "$1" | awk '{ v = $1 + 0; if ($1 ~ /us$/) f = 1; else if ($1 ~ /ms$/) f = 1000;
		else if ($1 ~ /s$/) f = 1000000; else f = 1; printf "%.1f", v * f }'
}

# one_tcp METHOD MODE: wrk through METHOD (direct portier haproxy nft),
# MODE keep|close; records rps, p50, p99 and CPU µs per request.
one_tcp() {
	local m=$1 mode=$2 url hdr=() out c0 c1 rps req
	case $m in
	direct) url=http://$GW_NET.2:$SVC_TCP/ ;;
	portier)
		url=http://$GW_IN_ADDR:$SVC_TCP/
		# daemon_start waits for the n-th "running:" in its appended log.
		DAEMON_STARTS=$((${DAEMON_STARTS:-0} + 1))
		daemon_start "$E2E_TMP/inv" ;;
	haproxy) url=http://$GW_IN_ADDR:$HAPROXY_PORT/ ;;
	nft) url=http://$GW_IN_ADDR:$NFT_PORT/; nft_dnat snat "$NS_GW" ;;
	esac
	[ "$mode" = close ] && hdr=(-H "Connection: close")
	c0=$(cpu_busy)
	out=$(ns "$NS_CLIENT" timeout $((WRK_SECS + 30)) wrk -t1 -c"$WRK_CONNS" -d"${WRK_SECS}s" \
		--latency "${hdr[@]}" "$url" 2>&1) || true
	c1=$(cpu_busy)
	case $m in
	portier) daemon_stop TERM ;;
	nft) nft_off "$NS_GW" ;;
	esac
	rps=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
	req=$(echo "$out" | awk '/requests in/ { print $1 }')
	if [ -z "$rps" ] || [ -z "$req" ] || [ "$req" -eq 0 ] ||
		echo "$out" | grep -q 'Socket errors:.*\(connect [1-9]\|timeout [1-9]\)'; then
		log "tcp $m $mode: wrk failed or saw errors: $(echo "$out" | tail -4 | tr '\n' ' ')"
	fi
	add "tcp:$m:$mode:rps" "${rps:-0}"
	add "tcp:$m:$mode:p50" "$(to_us "$(echo "$out" | awk '$1 == "50%" { print $2 }')")"
	add "tcp:$m:$mode:p99" "$(to_us "$(echo "$out" | awk '$1 == "99%" { print $2 }')")"
	add "tcp:$m:$mode:cpu" "$(awk -v j=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v n="${req:-0}" \
		'BEGIN { if (n > 0) printf "%.1f", j * 1e6 / hz / n; else print 0 }')"
}

TCP_METHODS=(direct portier haproxy nft)
section_tcp() {
	local r m mode n k
	e2e_init
	topo_up 2 3 4
	ns "$NS_GW" sysctl -qw net.ipv4.ip_forward=1
	# No TIME_WAIT on the servers: every method's gateway reuses the same
	# (203.0.113.1, port) tuples, and a SYN meeting another method's
	# TIME_WAIT would be refused by PAWS (a 1 s retransmit, for all alike).
	for n in "${NS_NODES[@]}"; do
		ns "$n" sysctl -qw net.ipv4.tcp_max_tw_buckets=0
		nginx_start "$n"
	done
	haproxy_start
	inv_write "$E2E_TMP/inv" kube_gateway_pool kube_nodes "    kube_gateway_pool:
      hosts:
        gateway-1: {ansible_host: $GW_OUT_ADDR}
    kube_nodes:
      hosts:
        node-2: {ansible_host: $GW_NET.2}
        node-3: {ansible_host: $GW_NET.3}
        node-4: {ansible_host: $GW_NET.4}"
	sleep 0.5
	# Warm up ARP and the servers.
	for m in "${TCP_METHODS[@]}"; do
		WRK_SECS=1 one_tcp "$m" keep
	done
	for k in "${!RES[@]}"; do
		[[ $k == tcp:* ]] && unset "RES[$k]"
	done
	for ((r = 1; r <= REPS; r++)); do
		for mode in keep close; do
			for m in "${TCP_METHODS[@]}"; do
				one_tcp "$m" "$mode"
			done
		done
		log "tcp: repetition $r/$REPS done"
	done
	# Each request: CPU beyond the direct path's (the gateway's share).
	for mode in keep close; do
		for m in portier haproxy nft; do
			RES[tcp:$m:$mode:gw]=$(awk -v a="$(med "tcp:$m:$mode:cpu")" \
				-v b="$(med "tcp:direct:$mode:cpu")" 'BEGIN { printf "%.1f", a - b }')
		done
	done
}

# ---- 3. per-packet cost -----------------------------------------------------------

PKTCOST_OUT=
section_cost() {
	if [ ! -x "$PKTCOST" ]; then
		PKTCOST_OUT="(no $PKTCOST: build it with make BUILD=$BUILD tests)"
		return
	fi
	PKTCOST_OUT=$(timeout 300 "$PKTCOST" 2>&1) || PKTCOST_OUT="$PKTCOST_OUT
(pktcost exited non-zero)"
}

# ---- 4. scale -----------------------------------------------------------------

# one_scale ROUTES FLOWS: rate of established UDP flows and the program's
# in-place ns/packet (bpf_stats) with FLOWS flows in the table.
one_scale() {
	local routes=$1 flows=$2 id a b v
	rate_daemon_start "$R_TMP/inv$routes" --nat dnat --conntrack-size "$SCALE_CT"
	gen udp "$GW_IN_ADDR" "$SVC_UDP" "$flows" --count "$flows" >/dev/null
	id=$(prog_id_in)
	a=$(prog_counts "$id")
	v=$(gen udp "$GW_IN_ADDR" "$SVC_UDP" "$flows" --duration "$SECS")
	b=$(prog_counts "$id")
	rate_daemon_stop
	add "scale:$routes:$flows:rate" "${v:-0}"
	add "scale:$routes:$flows:ns" "$(echo "$a $b" | awk '{ if ($4 > $2)
		printf "%.1f", ($3 - $1) / ($4 - $2); else print 0 }')"
}

SCALE_POINTS=("6 1" "6 1000" "6 1000000" "1000 1000" "10000 1000")
section_scale() {
	local r p t
	SYSCTL_STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1
	for ((r = 1; r <= REPS; r++)); do
		for p in "${SCALE_POINTS[@]}"; do
			one_scale $p
		done
		log "scale: repetition $r/$REPS done"
	done
	sysctl -qw kernel.bpf_stats_enabled="$SYSCTL_STATS_OLD"
	SYSCTL_STATS_OLD=
	# The daemon: apply 1,000 routes at start; reload with one changed.
	for ((r = 1; r <= REPS; r++)); do
		rate_daemon_start "$R_TMP/inv1000"
		add "apply1000" "$R_START_SECS"
		reload_one
		add "reload1000" "$R_RELOAD_SECS"
		rate_daemon_stop
	done
}

# reload_one: change one route's port, SIGHUP; R_RELOAD_SECS: seconds until "reload: ...
# applied"; the inventory is restored afterwards.
reload_one() {
	local f=$R_TMP/inv1000/group_vars/bench_gw.yml t0 t1 i n
	cp "$f" "$f.orig"
	sed -i 's/port: 40999,/port: 39999,/' "$f"
	n=$(grep -c 'reload: ' "$R_LOG" || true)
	t0=$(date +%s.%N)
	kill -HUP "$R_DAEMON"
	for ((i = 0; i < 3000; i++)); do
		[ "$(grep -c 'reload: ' "$R_LOG" || true)" -gt "$n" ] && break
		sleep 0.01
	done
	t1=$(date +%s.%N)
	mv "$f.orig" "$f"
	R_RELOAD_SECS=nan
	if ! tail -1 "$R_LOG" | grep -q 'routes applied'; then
		log "reload did not apply: $(tail -2 "$R_LOG" | tr '\n' ' ')"
		return
	fi
	R_RELOAD_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }')
}

# ---- report -----------------------------------------------------------------------

fmt_m() { awk -v v="$(med "$1")" 'BEGIN { if (v == "nan") print "-"; else printf "%.2f", v / 1e6 }'; }
fmt() { awk -v v="$(med "$1")" -v f="${2:-%.0f}" 'BEGIN { if (v == "nan") print "-"; else printf f, v }'; }
pass() { awk -v v="$1" -v g="$2" -v le="${3:-}" 'BEGIN {
	if (v == "-" || v == "") print "n/a"; else if (le ? v + 0 <= g : v + 0 >= g) print "met"; else print "MISSED" }'; }

report() {
	local m mode
	echo "## Packet rate to the sink (Mpps, median of $REPS x ${SECS}s, spread = half range)"
	echo
	echo "| configuration | Mpps | spread | ratio to bare | ratio to nft DNAT (same kind) |"
	echo "|---|---|---|---|---|"
	for c in "${RATE_CONFIGS[@]}"; do
		local peer=-
		case $c in
		portier-est) peer=$(ratio rate:portier-est rate:nft-est) ;;
		portier-new) peer=$(ratio rate:portier-new rate:nft-new) ;;
		esac
		echo "| $c | $(fmt_m "rate:$c") | $(spread "rate:$c") | $(ratio "rate:$c" rate:bare) | $peer |"
	done
	echo
	echo "## TCP through the gateway (wrk -t1 -c$WRK_CONNS, ${WRK_SECS}s, median of $REPS)"
	echo
	echo "| method | mode | req/s | spread | ratio to direct | p50 µs | p99 µs | p99 / direct |" \
		"CPU µs/req (all) | gateway µs/req |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	for mode in keep close; do
		for m in "${TCP_METHODS[@]}"; do
			echo "| $m | $mode | $(fmt "tcp:$m:$mode:rps") | $(spread "tcp:$m:$mode:rps") |" \
				"$(ratio "tcp:$m:$mode:rps" "tcp:direct:$mode:rps") |" \
				"$(fmt "tcp:$m:$mode:p50")| $(fmt "tcp:$m:$mode:p99") |" \
				"$(ratio "tcp:$m:$mode:p99" "tcp:direct:$mode:p99") |" \
				"$(fmt "tcp:$m:$mode:cpu" %.1f) | ${RES[tcp:$m:$mode:gw]:--} |"
		done
	done
	echo
	echo "## Scale: established UDP flows, portier dnat (median of $REPS)"
	echo
	echo "| routes | flows in table | Mpps | ratio to 6 routes, 1 flow | XDP ns/packet in place | cost ratio |"
	echo "|---|---|---|---|---|---|"
	for p in "${SCALE_POINTS[@]}"; do
		set -- $p
		echo "| $1 | $2 | $(fmt_m "scale:$1:$2:rate") | $(ratio "scale:$1:$2:rate" scale:6:1:rate) |" \
			"$(fmt "scale:$1:$2:ns" %.1f) | $(ratio "scale:$1:$2:ns" scale:6:1:ns) |"
	done
	echo
	echo "Daemon: start with 1,000 routes until running: $(fmt apply1000 %.3f) s" \
		"(spread $(spread apply1000)); SIGHUP reload with one route changed:" \
		"$(fmt reload1000 %.3f) s (spread $(spread reload1000))."
	echo
	echo "## Goals (issue 6)"
	echo
	echo "| goal | figure | verdict |"
	echo "|---|---|---|"
	local v
	v=$(ratio rate:portier-est rate:bare); echo "| portier established >= 0.85 x bare | $v | $(pass "$v" 0.85) |"
	v=$(ratio rate:portier-est rate:nft-est); echo "| portier established >= 6 x nft DNAT | $v | $(pass "$v" 6) |"
	v=$(ratio rate:portier-new rate:nft-new); echo "| portier new flows >= 2 x nft DNAT | $v | $(pass "$v" 2) |"
	v=$(ratio tcp:portier:close:rps tcp:direct:close:rps); echo "| TCP close: portier >= 0.95 x direct req/s | $v | $(pass "$v" 0.95) |"
	v=$(ratio tcp:portier:close:p99 tcp:direct:close:p99); echo "| TCP close: portier p99 <= 1.2 x direct | $v | $(pass "$v" 1.2 le) |"
	v=$(awk -v a="${RES[tcp:portier:close:gw]:-}" -v b="${RES[tcp:haproxy:close:gw]:-}" \
		'BEGIN { if (a == "" || b + 0 <= 0) print "-"; else printf "%.2f", a / b }')
	echo "| TCP close: portier gateway CPU <= 0.1 x HAProxy | $v | $(pass "$v" 0.1 le) |"
	v=$(ratio scale:6:1000000:ns scale:6:1:ns); echo "| cost 1M flows <= 1.2 x 1 flow | $v | $(pass "$v" 1.2 le) |"
	v=$(ratio scale:10000:1000:ns scale:6:1000:ns); echo "| cost 10k routes <= 1.2 x 6 routes | $v | $(pass "$v" 1.2 le) |"
	echo
	echo "## Per-packet cost (tools/pktcost, BPF_PROG_TEST_RUN)"
	echo
	echo '```'
	echo "${PKTCOST_OUT:-(not run)}"
	echo '```'
}

# ---- main ---------------------------------------------------------------------------

for s in $SECTIONS; do
	case $s in
	rate | scale)
		if [ -z "${R_ID:-}" ]; then
			rate_up
			inv_bench "$R_TMP/inv6" 6
			inv_bench "$R_TMP/inv1000" 1000
			inv_bench "$R_TMP/inv10000" 10000
		fi ;;
	esac
	log "section $s"
	section_"$s"
done
ELAPSED=$(($(date +%s) - T_START))
TABLE=$(report)
echo "$TABLE"
echo "bench: finished in ${ELAPSED}s"

{
	echo "# portier benchmarks: end to end against the alternatives"
	echo
	echo "Written by \`tools/bench.sh\` (\`make bench\`); the latest run. Ratios are to peers"
	echo "measured in the same run, interleaved; absolute figures are context for this"
	echo "machine only."
	echo
	echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- Machine: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)," \
		"$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "- Kernel: $(uname -r); $(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "- Command: \`make BUILD=$BUILD bench\` (REPS=$REPS SECS=$SECS WRK_SECS=$WRK_SECS" \
		"SECTIONS=\"$SECTIONS\"), ${ELAPSED}s"
	echo
	echo "$TABLE"
	cat <<'NOTES'

## How it is measured

- **Packet rate**: `trafgen send` runs `BPF_PROG_TEST_RUN` with
  `BPF_F_TEST_XDP_LIVE_FRAMES` in the generator namespace; its XDP program
  writes the whole 64-byte frame from a template on every frame (live frames
  recycle pages without resetting them), varies the source port (above
  64,512 flows the source address too, from 198.18.0.1) and redirects out of
  c0. The gateway's program (bare, portier) or kernel forwards to out0; the
  sink namespace counts IPv4 frames with an XDP program (`trafgen sink`) and
  drops them. The figure is frames counted by the sink per second of
  generation. veth runs each receiver on the sender's CPU: one core does the
  whole pipeline, for every configuration alike. Neighbours are permanent.
  - *established*: UDP, 1,000 flows; a warm-up pass creates them (portier
    dnat, nftables conntrack), then the timed run cycles over them;
  - *new*: TCP SYN, 16.7 M distinct tuples: every frame is a new flow
    (portier's LRU connection table and nf_conntrack evict as they go);
  - portier runs with `--nat dnat` here, like the nftables rule (SNAT's 14k
    ports per backend cannot hold 16 M new flows); the TCP section uses the
    default snat.
- **TCP**: lib.sh's topology (client, gateway, bridge, three nodes running
  nginx on 30080, `return 200`), `wrk -t1 -c16 --latency`, keep-alive and
  `Connection: close`. direct = the client to node .2 through the gateway's
  plain forwarding; portier (snat; daemon started for each run); HAProxy 2.6
  `mode tcp`, `balance roundrobin`; nftables DNAT `numgen inc mod 3` +
  masquerade. Nodes keep no TIME_WAIT (`tcp_max_tw_buckets=0`): otherwise a
  method's SYN meets the previous method's TIME_WAIT on the same gateway
  tuple, PAWS refuses it and it waits a 1 s retransmit.
- **Gateway CPU per request**: CPU accounting: busy jiffies of all CPUs
  (user, system, irq, softirq) from /proc/stat over the wrk run divided by
  the requests; the method's figure minus direct's is the gateway's share
  (negative or tiny when XDP forwarding is cheaper than the kernel's plain
  forwarding that direct pays). The machine is shared with other work, so
  this figure is noisy; medians are reported.
- **Per-packet cost**: tools/pktcost (BPF_PROG_TEST_RUN, docs/benchmarks.md),
  its output unchanged.
- **Scale**: UDP established flows as above, `--conntrack-size 3000000` at
  every point; the in-place cost is bpf_stats (`kernel.bpf_stats_enabled=1`
  during this section only: run_time_ns / run_cnt of portier's input
  program). Stats add timing to every program run, so this section's rates
  are lower than section 1's. Filler routes are TCP routes on ports 40002 up.
- **Daemon**: exec to the "running:" log line with 1,000 routes (load,
  verify, attach, fill), and SIGHUP to "reload: N routes applied" with one
  route's port changed.
- Medians of the repetitions; spread is half the range, in % of the median.
NOTES
} >"$DOC"
log "wrote $DOC"
