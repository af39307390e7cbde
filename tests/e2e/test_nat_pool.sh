# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_nat_pool.sh - the nat-gateway-pool end to end (issue 17, "What it
# must show"): gateway-4 (MASTER, priority 200) and gateway-5 (BACKUP, 100)
# each run Debian's keepalived with the configuration "portier keepalived
# render" wrote and a portier daemon that takes everything from the
# inventory (NICs, VIPs, the egress rule, the flow sync peer; the egress
# source is the output side's VIP). A box-network client reaches an
# "internet" namespace (documentation addresses only, no route back to the
# box network) with real TCP/UDP servers through the VIP.
#
#   client ns  box-network 192.168.1.2, default via the VIP 192.168.1.254
#   gateway-4  box-network 192.168.1.4  gateway-network 203.0.113.4
#   gateway-5  box-network 192.168.1.5  gateway-network 203.0.113.5
#              (VIPs: 192.168.1.254 vrid 5, 203.0.113.254 vrid 6, together)
#   inet ns    eth0 203.0.113.1 on gateway-network; lo 198.51.100.10 (the
#              servers), 198.51.100.20 (excepted by the egress rule)
#   bridge ns  br-box, br-gw
#
# Failover: 100 long-lived connections where the client speaks first after
# the failover, 20 where the server does, a stream of new connections;
# gateway-4's keepalived and portier killed, its links cut; then it comes
# back with a fresh table, is resynchronised from gateway-5 and takes the
# VIPs back. The figures are printed ("e2e: figure: ...").

NP_VIP_IN=192.168.1.254
NP_VIP_OUT=203.0.113.254
NP_CLIENT_ADDR=192.168.1.2
NP_ROUTER=203.0.113.1
NP_SERVER=198.51.100.10
NP_EXCEPTED=198.51.100.20
NP_TCP=8080		# client speaks first (servers: tcp:)
NP_PUSH=8081		# server speaks first (servers: push:)
NP_UDP=5353
NP_CONNS=100
NP_PUSH_CONNS=20
NP_WAIT_STEPS=400	# 400 x 0.05 s = 20 s (a takeover is ~3.5 s, a
			# returning MASTER's preempt_delay 5 s more)
PINGER=$E2E_DIR/pinger

np_ns() { echo "ptp$1-$E2E_ID"; }

# np_cleanup: every keepalived (parent and VRRP child, by their pid files:
# a VRRP child outlives a parent killed with SIGKILL), then e2e_cleanup
# (daemons, servers, clients, namespaces, the bpffs).
np_cleanup() {
	local f p
	set +e
	for f in "$E2E_TMP"/keepalived-*.pid "$E2E_TMP"/vrrp-*.pid; do
		[ -e "$f" ] || continue
		p=$(cat "$f" 2>/dev/null)
		[ -n "$p" ] && kill -TERM "$p" 2>/dev/null
	done
	e2e_cleanup
}

np_topo() {
	local g n
	NS_INET=ptn-inet-$E2E_ID
	ip netns add "$NS_CLIENT" && ip netns add "$NS_BR" || return 1
	e2e_ns_add "$NS_INET" || return 1
	ns "$NS_BR" ip link add br-box type bridge
	ns "$NS_BR" ip link add br-gw type bridge
	ns "$NS_BR" ip link set br-box up
	ns "$NS_BR" ip link set br-gw up
	ns "$NS_CLIENT" ip link set lo up
	veth_pair "$NS_CLIENT" box-network "$NS_BR" bc || return 1
	ns "$NS_BR" ip link set bc master br-box
	ns "$NS_CLIENT" ip addr add "$NP_CLIENT_ADDR/24" dev box-network
	ns "$NS_CLIENT" ip route add default via "$NP_VIP_IN"
	veth_pair "$NS_INET" eth0 "$NS_BR" bi || return 1
	ns "$NS_BR" ip link set bi master br-gw
	ns "$NS_INET" ip addr add "$NP_ROUTER/24" dev eth0
	ns "$NS_INET" ip addr add "$NP_SERVER/32" dev lo
	ns "$NS_INET" ip addr add "$NP_EXCEPTED/32" dev lo
	# Answers leave from the server's address; no route to the box.
	ns "$NS_INET" ip route replace 203.0.113.0/24 dev eth0 src "$NP_SERVER"
	for g in 4 5; do
		n=$(np_ns $g)
		ip netns add "$n" || return 1
		NS_NODES+=("$n")
		ns "$n" ip link set lo up
		veth_pair "$n" box-network "$NS_BR" "b$g" || return 1
		veth_pair "$n" gateway-network "$NS_BR" "g$g" || return 1
		ns "$NS_BR" ip link set "b$g" master br-box
		ns "$NS_BR" ip link set "g$g" master br-gw
		ns "$n" ip addr add "192.168.1.$g/24" dev box-network
		ns "$n" ip addr add "203.0.113.$g/24" dev gateway-network
		ns "$n" ip route add default via "$NP_ROUTER"
	done
	ip netns exec "$NS_INET" "$SERVERS" inet "$E2E_TMP/server-inet.log" "tcp:$NP_TCP" \
		"udp:$NP_UDP" "push:$NP_PUSH@$E2E_TMP/push.1,$E2E_TMP/push.2,$E2E_TMP/push.3" \
		>"$E2E_TMP/server-inet.out" 2>&1 &
	E2E_PIDS+=($!)
	wait_for "the internet's servers" grep -qs ready "$E2E_TMP/server-inet.out"
}

# np_inventory DIR: the seed's nat_gateway_pool with an output-side VIP and
# an egress rule; the hosts' ansible_host (their box-network addresses) is
# where flow sync runs. Nothing else: no daemon option names any of it.
np_inventory() {
	mkdir -p "$1"
	cat >"$1/hosts.yml" <<EOF
all:
  children:
    nat_gateway_pool:
      vars:
        output_interface: gateway-network
        input_interface: box-network
        vips:
          box-network:
            virtual_router_id: 5
            vip: $NP_VIP_IN
          gateway-network:
            virtual_router_id: 6
            vip: $NP_VIP_OUT
        egress:
          rules:
            box:
              from: [192.168.1.0/24]
              to: [198.51.100.0/24]
              except: [$NP_EXCEPTED/32]
      hosts:
        gateway-4:
          ansible_host: 192.168.1.4
          box-network: {priority: 200, state: MASTER}
          gateway-network: {priority: 200, state: MASTER}
        gateway-5:
          ansible_host: 192.168.1.5
          box-network: {priority: 100, state: BACKUP}
          gateway-network: {priority: 100, state: BACKUP}
EOF
}

# np_daemon G RUN: portier in gateway G's namespace, --host gateway-G and
# its pin directory, nothing else; waits until it runs.
np_daemon() {
	local g=$1 log=$E2E_TMP/daemon-$1-$2.log i
	ip netns exec "$(np_ns "$g")" "$PORTIER" daemon -i "$E2E_TMP/inv" --host "gateway-$g" \
		--bpffs "$E2E_TMP/bpffs/g$g" >"$log" 2>&1 &
	E2E_PIDS+=($!)
	NP_PID[$g]=$!
	for ((i = 0; i < WAIT_STEPS; i++)); do
		grep -qs 'running:' "$log" && return 0
		kill -0 "${NP_PID[$g]}" 2>/dev/null || break
		sleep 0.1
	done
	e2e_log "daemon of gateway-$g did not start; its log:"
	cat "$log" >&2
	return 1
}

# np_keepalived G RUN: Debian's keepalived with the rendered configuration.
np_keepalived() {
	local g=$1 run=$2
	ip netns exec "$(np_ns "$g")" keepalived -n -l -D -P -f "$E2E_TMP/keepalived-g$g.conf" \
		-p "$E2E_TMP/keepalived-g$g-$run.pid" -r "$E2E_TMP/vrrp-g$g-$run.pid" \
		>"$E2E_TMP/keepalived-g$g-$run.log" 2>&1 &
	E2E_PIDS+=($!)
	KA_PID[$g]=$!
}

np_role() {
	"$PORTIER" --bpffs "$E2E_TMP/bpffs/g$1" -j vrrp show 2>/dev/null | jq -r .role 2>/dev/null
}
np_role_is() { [ "$(np_role "$1")" = "$2" ]; }

# np_has_vips G: both VIPs are on gateway G.
np_has_vips() {
	ns "$(np_ns "$1")" ip -4 -o addr show dev box-network | grep -q " $NP_VIP_IN/" &&
		ns "$(np_ns "$1")" ip -4 -o addr show dev gateway-network | grep -q " $NP_VIP_OUT/"
}
np_lacks_vips() {
	! ns "$(np_ns "$1")" ip -4 -o addr show | grep -q " $NP_VIP_IN/\| $NP_VIP_OUT/"
}

# np_wait WHAT CMD...: CMD every 0.05 s, at most NP_WAIT_STEPS times;
# prints the milliseconds it took.
np_wait() {
	local what=$1 i t0
	shift
	t0=$(date +%s%N)
	for ((i = 0; i < NP_WAIT_STEPS; i++)); do
		if "$@"; then
			echo $(( ($(date +%s%N) - t0) / 1000000 ))
			return 0
		fi
		sleep 0.05
	done
	e2e_log "timed out waiting for $what"
	return 1
}

# np_flows G: the flows in gateway G's connection table.
np_flows() {
	ns "$(np_ns "$1")" "$PORTIER" -j conntrack count --bpffs "$E2E_TMP/bpffs/g$1" |
		jq -r .count
}
np_flows_ge() { [ "$(np_flows "$1")" -ge "$2" ]; }

np_logs() {
	local f g
	for g in 4 5; do
		echo "--- gateway-$g reasons, flows" >&2
		"$PORTIER" --bpffs "$E2E_TMP/bpffs/g$g" -j stats show 2>/dev/null |
			jq -c '[.reasons[] | select(.packets > 0)]' >&2
		ns "$(np_ns $g)" "$PORTIER" --bpffs "$E2E_TMP/bpffs/g$g" -j conntrack show 2>/dev/null |
			jq -c '.[]' 2>/dev/null | grep -m4 ':8080\|8080' >&2
	done
	for f in "$E2E_TMP"/keepalived-g*.log "$E2E_TMP"/daemon-*.log; do
		[ -e "$f" ] && { echo "--- $f"; tail -n 25 "$f"; } >&2
	done
	return 1
}

# np_up: topology, inventory, keepalived.conf rendered and checked by
# keepalived, the daemons (BACKUP until keepalived says), then keepalived;
# gateway-4 ends up MASTER of both VIPs.
np_up() {
	local g ms
	declare -gA KA_PID=() NP_PID=()
	trap 'np_cleanup' EXIT
	np_topo
	np_inventory "$E2E_TMP/inv"
	for g in 4 5; do
		"$PORTIER" --bpffs "$E2E_TMP/bpffs/g$g" keepalived render -i "$E2E_TMP/inv" \
			--host "gateway-$g" --output "$E2E_TMP/keepalived-g$g.conf"
		ns "$(np_ns $g)" keepalived -t -f "$E2E_TMP/keepalived-g$g.conf"
		grep -q 'preempt_delay' "$E2E_TMP/keepalived-g$g.conf"
	done
	np_daemon 4 1
	np_daemon 5 1
	# Everything came from the inventory.
	grep -q 'flow sync from the inventory: with gateway-5 at 192.168.1.5:7799' \
		"$E2E_TMP/daemon-4-1.log" || np_logs
	np_keepalived 4 1
	np_keepalived 5 1
	ms=$(np_wait "the VIPs on gateway-4" np_has_vips 4) || np_logs
	e2e_log "the VIPs on gateway-4 ${ms} ms after keepalived started"
	np_wait "gateway-4 MASTER" np_role_is 4 MASTER >/dev/null || np_logs
	np_wait "gateway-5 BACKUP" np_role_is 5 BACKUP >/dev/null || np_logs
	np_lacks_vips 5
	grep -q 'flow sync: MASTER' "$E2E_TMP/daemon-4-1.log" || np_logs
	# The egress source is the output VIP (no snat_address in the inventory).
	[ "$("$PORTIER" --bpffs "$E2E_TMP/bpffs/g4" -j stats show | jq -r .egress.address)" = \
		"$NP_VIP_OUT" ]
}

# np_peers PROTO PORT: the distinct source addresses the server logged.
np_peers() {
	awk -v p="$1" -v port="$2" '$1 == p && $2 == port { split($3, a, ":"); print a[1] }' \
		"$E2E_TMP/server-inet.log" | sort -u
}

np_expect() {
	[ "$2" = "$3" ] || { e2e_log "$1: got [$(echo $2)], want [$3]"; return 1; }
	e2e_log "$1: $(echo $2)"
}

test_nat_pool_egress() {
	local out st peers
	np_up
	out=$(ns "$NS_CLIENT" timeout 60 "$CLIENT" tcp "$NP_SERVER" "$NP_TCP" 20 2)
	np_expect "tcp to $NP_SERVER through the VIP" "$out" "inet 20"
	out=$(ns "$NS_CLIENT" timeout 60 "$CLIENT" udp "$NP_SERVER" "$NP_UDP" 10 2)
	np_expect "udp to $NP_SERVER through the VIP" "$out" "inet 10"
	# The servers saw the output VIP only.
	peers=$(np_peers tcp "$NP_TCP")
	[ "$peers" = "$NP_VIP_OUT" ] || { e2e_log "tcp sources: [$peers]"; return 1; }
	peers=$(np_peers udp "$NP_UDP")
	[ "$peers" = "$NP_VIP_OUT" ] || { e2e_log "udp sources: [$peers]"; return 1; }
	out=$(ns "$NS_CLIENT" "$PINGER" "$NP_SERVER" 3 4670 2) ||
		{ e2e_log "ping through the pool: $out"; return 1; }
	e2e_log "ping $NP_SERVER through the pool: $out"
	# Undeclared egress: an excepted destination, and one no rule names.
	out=$(ns "$NS_CLIENT" timeout 60 "$CLIENT" tcp "$NP_EXCEPTED" "$NP_TCP" 3 2)
	np_expect "tcp to the excepted $NP_EXCEPTED" "$out" "ERROR 3"
	out=$(ns "$NS_CLIENT" "$PINGER" "$NP_ROUTER" 1 4671 1 || true)
	np_expect "ping to $NP_ROUTER (no rule)" "$out" "ok 0/1"
	st=$("$PORTIER" --bpffs "$E2E_TMP/bpffs/g4" -j stats show)
	e2e_log "gateway-4 egress: $(jq -c .egress <<<"$st")"
	[ "$(jq '.egress.rules[] | select(.rule == "box") | .refused' <<<"$st")" -ge 3 ]
	[ "$(jq '.egress.unmatched_refused' <<<"$st")" -ge 1 ] ||
		[ "$(jq '.egress.rules[] | select(.rule == "box") | .refused' <<<"$st")" -ge 4 ]
	[ "$(jq '.reasons[] | select(.reason == "egress_refused") | .packets' <<<"$st")" -ge 4 ]
	# The flows reached gateway-5 (flow sync from the inventory).
	np_wait "gateway-5's copies" np_flows_ge 5 20 >/dev/null || np_logs
}

# np_round N: round N of both holders (client-first: go[.N]; server-first:
# push.N, the servers speak); prints "CLIENT_FIRST SERVER_FIRST" answered.
np_round() {
	local n=$1 go=$E2E_TMP/go a b
	[ "$n" -gt 1 ] && go=$E2E_TMP/go.$n
	touch "$go" "$E2E_TMP/push.$n"
	WAIT_STEPS=150 wait_for "round $n" np_rounds "$n" || return 1
	read -r _ a _ _ < <(grep '^echoed' "$E2E_TMP/hold.out" | sed -n "${n}p")
	read -r _ b _ _ < <(grep '^echoed' "$E2E_TMP/push.out" | sed -n "${n}p")
	echo "$a $b"
}
np_rounds() {
	[ "$(grep -c '^echoed' "$E2E_TMP/hold.out")" -ge "$1" ] &&
		[ "$(grep -c '^echoed' "$E2E_TMP/push.out")" -ge "$1" ]
}

# np_gap FROM_NS: from the stream's log, the first successful new
# connection begun after FROM_NS (date +%s%N), in ms after FROM_NS, and
# the attempts that failed since; "none" if none succeeded.
np_ok_after() { [ "$(np_gap "$1" | cut -d" " -f1)" != none ]; }
np_gap() {
	local from_ms=$(( ($1 - NP_STREAM_T0) / 1000000 ))
	awk -v f="$from_ms" '$1 >= f && $2 == "fail" { n++ }
		$1 >= f && $2 == "ok" { printf "%d %d\n", $1 - f, n; found = 1; exit }
		END { if (!found) print "none", n + 0 }' "$E2E_TMP/stream.out"
}

test_nat_pool_failover() {
	local held out ms t_fail t_back t_ka gap r a b flows5 flows4 resync_ms
	np_up
	# The long-lived connections: 100 client-first, 20 server-first.
	ip netns exec "$NS_CLIENT" timeout 300 "$E2E_DIR/holdconns" "$NP_SERVER" "$NP_TCP" \
		"$NP_CONNS" 20 10 120 "$E2E_TMP/go" 3 >"$E2E_TMP/hold.out" 2>&1 &
	E2E_PIDS+=($!)
	ip netns exec "$NS_CLIENT" timeout 300 "$E2E_DIR/holdconns" --listen "$NP_SERVER" \
		"$NP_PUSH" "$NP_PUSH_CONNS" 20 10 120 "$E2E_TMP/push.1" "$E2E_TMP/push.2" \
		"$E2E_TMP/push.3" >"$E2E_TMP/push.out" 2>&1 &
	E2E_PIDS+=($!)
	wait_for "the held connections" grep -qs '^held' "$E2E_TMP/hold.out"
	wait_for "the held server-first connections" grep -qs '^held' "$E2E_TMP/push.out"
	read -r _ held _ _ < <(grep '^held' "$E2E_TMP/hold.out")
	[ "$held" -eq "$NP_CONNS" ] || { e2e_log "held $held of $NP_CONNS"; return 1; }
	read -r _ held _ _ < <(grep '^held' "$E2E_TMP/push.out")
	[ "$held" -eq "$NP_PUSH_CONNS" ] || { e2e_log "held $held of $NP_PUSH_CONNS"; return 1; }
	r=$(np_round 1)
	np_expect "before the failover (client-first, server-first)" "$r" \
		"$NP_CONNS $NP_PUSH_CONNS"
	# A steady stream of new connections, one every 100 ms.
	NP_STREAM_T0=$(date +%s%N)
	ip netns exec "$NS_CLIENT" timeout 300 "$E2E_DIR/connstream" "$NP_SERVER" "$NP_TCP" \
		100 1000 240 "$E2E_TMP/stream.stop" >"$E2E_TMP/stream.out" 2>&1 &
	E2E_PIDS+=($!)
	np_wait "gateway-5's copies of the held flows" np_flows_ge 5 \
		$((NP_CONNS + NP_PUSH_CONNS)) >/dev/null || np_logs
	sleep 1

	# gateway-4 fails: keepalived (parent and VRRP child) and portier
	# killed, its links cut.
	t_fail=$(date +%s%N)
	kill -KILL "$(cat "$E2E_TMP/vrrp-g4-1.pid")" "${KA_PID[4]}" "${NP_PID[4]}"
	ns "$(np_ns 4)" ip link set box-network down
	ns "$(np_ns 4)" ip link set gateway-network down
	ms=$(np_wait "the VIPs on gateway-5" np_has_vips 5) || np_logs
	e2e_log "figure: failover: the VIPs reached gateway-5 ${ms} ms after its links were cut"
	np_wait "gateway-5 MASTER" np_role_is 5 MASTER >/dev/null || np_logs
	flows5=$(np_flows 5)
	sleep 1
	r=$(np_round 2)
	read -r a b <<<"$r"
	e2e_log "figure: failover: $a of $NP_CONNS client-first and $b of $NP_PUSH_CONNS" \
		"server-first connections still work through gateway-5 ($flows5 flows there)"
	[ "$a" -ge $((NP_CONNS - 1)) ] && [ "$b" -eq "$NP_PUSH_CONNS" ] || np_logs
	WAIT_STEPS=100 wait_for "a new connection after the failover" np_ok_after "$t_fail"
	gap=$(np_gap "$t_fail")
	[ "${gap% *}" != none ] || { e2e_log "no new connection after the failover"; return 1; }
	e2e_log "figure: failover: the first new connection to succeed again was begun" \
		"${gap% *} ms after gateway-4 was stopped (${gap#* } attempts failed meanwhile)"

	# gateway-4 comes back as from a reboot: a fresh data plane (its old
	# table gone), links up, the daemon first: its table is resynchronised
	# from gateway-5 (the MASTER resyncs a peer that (re)starts) while
	# keepalived holds the VIPs on gateway-5 for preempt_delay.
	ns "$(np_ns 4)" "$PORTIER" prog detach --bpffs "$E2E_TMP/bpffs/g4" >/dev/null
	# The VIPs the killed keepalived left on its NICs (a reboot clears them).
	ns "$(np_ns 4)" ip addr del "$NP_VIP_IN/32" dev box-network
	ns "$(np_ns 4)" ip addr del "$NP_VIP_OUT/32" dev gateway-network
	ns "$(np_ns 4)" ip link set box-network up
	ns "$(np_ns 4)" ip link set gateway-network up
	# Its default route went with the link (the kernel drops a route whose
	# device goes down); a reboot would bring it back with the link.
	ns "$(np_ns 4)" ip route replace default via "$NP_ROUTER"
	t_back=$(date +%s%N)
	np_daemon 4 2
	flows5=$(np_flows 5)
	resync_ms=$(np_wait "gateway-4's table from gateway-5" np_flows_ge 4 \
		$((NP_CONNS + NP_PUSH_CONNS))) || np_logs
	flows4=$(np_flows 4)
	e2e_log "figure: failback: gateway-4 holds $flows4 flows (gateway-5: $flows5)," \
		"resynchronised ${resync_ms} ms after its daemon ran, before it has the VIPs"
	np_lacks_vips 4 || { e2e_log "gateway-4 had the VIPs before its resync"; return 1; }
	t_ka=$(date +%s%N)
	np_keepalived 4 2
	ms=$(np_wait "the VIPs back on gateway-4" np_has_vips 4) || np_logs
	np_wait "the VIPs off gateway-5" np_lacks_vips 5 >/dev/null || np_logs
	e2e_log "figure: failback: the VIPs back on gateway-4 ${ms} ms after its keepalived" \
		"started (preempt_delay 5 s)"
	np_wait "gateway-4 MASTER" np_role_is 4 MASTER >/dev/null || np_logs
	np_wait "gateway-5 BACKUP" np_role_is 5 BACKUP >/dev/null || np_logs
	grep -q 'flow sync: MASTER' "$E2E_TMP/daemon-4-2.log" || np_logs
	sleep 1
	r=$(np_round 3)
	read -r a b <<<"$r"
	e2e_log "figure: failback: $a of $NP_CONNS client-first and $b of $NP_PUSH_CONNS" \
		"server-first connections still work through gateway-4 (every round so far)"
	[ "$a" -ge $((NP_CONNS - 1)) ] && [ "$b" -eq "$NP_PUSH_CONNS" ] || np_logs
	gap=$(np_gap "$t_back")
	touch "$E2E_TMP/stream.stop"
	WAIT_STEPS=50 wait_for "the stream's end" grep -qs '^done' "$E2E_TMP/stream.out"
	e2e_log "figure: new connections: $(grep '^done' "$E2E_TMP/stream.out") in all;" \
		"failback: $(awk -v f=$(( (t_ka - NP_STREAM_T0) / 1000000 )) \
		'$1 >= f && $2 == "fail" { n++; if (!a) a = $1 - f; b = $1 - f }
		END { if (n) printf "%d failed, begun %d-%d ms after gateway-4'"'"'s keepalived " \
		"started", n, a, b; else printf "none failed" }' "$E2E_TMP/stream.out")" \
		"(the VIPs moved ${ms} ms after gateway-4's keepalived started)"
	[ "${gap% *}" != none ]
}
