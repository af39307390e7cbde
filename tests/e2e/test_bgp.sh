# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_bgp.sh - announcing the service addresses by BGP through bird2
# (issue 16, item 4). The client namespace is the router: bird2 with a BGP
# session to the gateway's bird2 (import all, into the kernel); the gateway
# runs bird2 and portier with --bgp-include. The router learns the route's
# /32 while portier runs with an UP backend, loses it when every backend of
# the route fails its check (nftables refuses the port on the nodes), learns
# it again when they pass, and loses it when the daemon stops. The client's
# only route to the service address is the one BGP brings: a connection
# through it reaches the nodes.

BGP_VIP=192.0.2.10	# the route's service address (on no interface)
BGP_PORT=30080		# served by the nodes (server_start)
BGP_WILD_PORT=30081	# a "*" route: never announced
BGP_AS_ROUTER=64500
BGP_AS_GW=64501

# bgp_bird NS NAME CONF: bird2 in NS with CONF, its control socket and log
# in E2E_TMP; stopped by e2e_cleanup (E2E_PIDS).
bgp_bird() {
	local n=$1 name=$2
	ip netns exec "$n" bird -f -c "$3" -s "$E2E_TMP/bird-$name.ctl" \
		-P "$E2E_TMP/bird-$name.pid" >"$E2E_TMP/bird-$name.out" 2>&1 &
	E2E_PIDS+=($!)
	wait_for "bird $name" bgp_birdc "$name" show status || {
		cat "$E2E_TMP/bird-$name.out" >&2
		return 1
	}
}

# bgp_birdc NAME CMD...: birdc on that bird's socket, quiet.
bgp_birdc() {
	local name=$1
	shift
	birdc -s "$E2E_TMP/bird-$name.ctl" "$@" >/dev/null 2>&1
}

# bgp_up: the topology, two nodes serving, both birds with the session
# established, the inventory (one route on BGP_VIP, one on "*").
bgp_up() {
	topo_up 2 3
	server_start "${NS_NODES[0]}" node-2
	server_start "${NS_NODES[1]}" node-3
	# The router reaches the service address only through BGP.
	ns "$NS_CLIENT" ip route del default
	cat >"$E2E_TMP/bird-router.conf" <<EOF2
router id $CLIENT_ADDR;
log "$E2E_TMP/bird-router.log" all;
protocol device {}
protocol kernel {
	ipv4 { import none; export all; };
	merge paths on;
}
protocol bgp gw1 {
	local $CLIENT_ADDR as $BGP_AS_ROUTER;
	neighbor $GW_IN_ADDR as $BGP_AS_GW;
	connect delay time 1;
	connect retry time 1;
	error wait time 1, 5;
	ipv4 { import all; export none; };
}
EOF2
	cat >"$E2E_TMP/bird-gw.conf" <<EOF2
router id $GW_IN_ADDR;
log "$E2E_TMP/bird-gw.log" all;
protocol device {}
include "$E2E_TMP/portier-bgp.conf";
protocol bgp uplink {
	local $GW_IN_ADDR as $BGP_AS_GW;
	neighbor $CLIENT_ADDR as $BGP_AS_ROUTER;
	connect delay time 1;
	connect retry time 1;
	error wait time 1, 5;
	ipv4 { import none; export where proto = "portier4"; };
}
EOF2
	: >"$E2E_TMP/portier-bgp.conf"	# bird starts before portier writes it
	bgp_bird "$NS_CLIENT" router "$E2E_TMP/bird-router.conf"
	bgp_bird "$NS_GW" gw "$E2E_TMP/bird-gw.conf"
	WAIT_STEPS=300 wait_for "the BGP session" bgp_established
	mkdir -p "$E2E_TMP/inv"
	cat >"$E2E_TMP/inv/hosts.yml" <<EOF2
all:
  children:
    kube_gateway_pool:
      hosts:
        gateway-1: {ansible_host: $GW_OUT_ADDR}
    kube_nodes:
      hosts:
        node-2: {ansible_host: $GW_NET.2}
        node-3: {ansible_host: $GW_NET.3}
  vars:
    proxies:
      target: {group: kube_gateway_pool}
      routes:
        vip:
          mode: tcp
          address: $BGP_VIP
          port: $BGP_PORT
          destination:
            group: {name: kube_nodes, port: $BGP_PORT}
            balance: roundrobin
            check: {inter: 200ms, rise: 2, fall: 2}
        wild:
          mode: tcp
          address: "*"
          port: $BGP_WILD_PORT
          destination:
            group: {name: kube_nodes, port: $BGP_WILD_PORT}
            balance: roundrobin
EOF2
}

bgp_established() {
	birdc -s "$E2E_TMP/bird-router.ctl" show protocols gw1 | grep -q Established
}

# bgp_learnt: the router's kernel has the service /32 via the gateway,
# put there by bird (proto bird).
bgp_learnt() {
	ns "$NS_CLIENT" ip -4 route show "$BGP_VIP/32" proto bird | grep -q "via $GW_IN_ADDR"
}
bgp_gone() { ! bgp_learnt && ! ns "$NS_CLIENT" ip -4 route show "$BGP_VIP/32" | grep -q .; }

# bgp_refuse NODE_INDEX on|off: the node resets connections to BGP_PORT.
bgp_refuse() {
	local n=${NS_NODES[$1]}
	if [ "$2" = on ]; then
		ns "$n" nft -f - <<EOF2
table inet ptbgp {
	chain input { type filter hook input priority 0; tcp dport $BGP_PORT reject with tcp reset; }
}
EOF2
	else
		ns "$n" nft delete table inet ptbgp
	fi
}

bgp_log() { grep -qsF -- "$1" "$DAEMON_LOG"; }

test_bgp_announce_follows_health_and_daemon() {
	local out WAIT_STEPS=$WAIT_STEPS
	bgp_up
	daemon_start "$E2E_TMP/inv" --bgp-include "$E2E_TMP/portier-bgp.conf" \
		--bird-socket "$E2E_TMP/bird-gw.ctl"
	# Announced: the route's address, not the "*" route's.
	WAIT_STEPS=300 wait_for "the router to learn $BGP_VIP/32" bgp_learnt
	grep -qxF "	route $BGP_VIP/32 blackhole;" "$E2E_TMP/portier-bgp.conf"
	[ "$(grep -c '	route ' "$E2E_TMP/portier-bgp.conf")" -eq 1 ]
	bgp_log "bgp: announcing 1 address: $BGP_VIP"
	birdc -s "$E2E_TMP/bird-router.ctl" show route "$BGP_VIP/32" all |
		grep -q "BGP.as_path: $BGP_AS_GW"
	# The client's only way to the service address is that route.
	out=$(client_run tcp "$BGP_PORT" 10 "$BGP_VIP")
	expect_out "through the BGP route" "$out" "$(printf '%s 5\n' node-2 node-3)"

	# One backend down: still announced.
	bgp_refuse 0 on
	wait_for "node-2 down" bgp_log "backend $GW_NET.2:$BGP_PORT UP -> DOWN"
	bgp_learnt
	# Both down: withdrawn.
	bgp_refuse 1 on
	wait_for "node-3 down" bgp_log "backend $GW_NET.3:$BGP_PORT UP -> DOWN"
	WAIT_STEPS=300 wait_for "the withdrawal" bgp_gone
	bgp_log "bgp: announcing 0 addresses"
	! grep -q '	route ' "$E2E_TMP/portier-bgp.conf"

	# One comes back: announced again.
	bgp_refuse 1 off
	wait_for "node-3 up" bgp_log "backend $GW_NET.3:$BGP_PORT DOWN -> UP"
	WAIT_STEPS=300 wait_for "the router to learn it again" bgp_learnt
	out=$(client_run tcp "$BGP_PORT" 4 "$BGP_VIP")
	expect_out "node-3 only" "$out" "node-3 4"

	# The daemon stops (cleanly): withdrawn.
	daemon_stop TERM
	WAIT_STEPS=300 wait_for "the withdrawal at stop" bgp_gone
	bgp_log "bgp: withdrew every address"
	! grep -q '	route ' "$E2E_TMP/portier-bgp.conf"
}

# bird not reachable: the daemon runs, says why, and announces once bird is
# there (retried every tick).
test_bgp_retries_until_bird_answers() {
	local WAIT_STEPS=$WAIT_STEPS
	bgp_up
	daemon_start "$E2E_TMP/inv" --bgp-include "$E2E_TMP/portier-bgp.conf" \
		--bird-socket "$E2E_TMP/no-such-bird.ctl"
	wait_for "the failure said" bgp_log "but 'birdc -s $E2E_TMP/no-such-bird.ctl configure' failed"
	daemon_running
	! bgp_learnt
	# Its socket appears (a link to the real one): the next tick announces.
	ln -s "$E2E_TMP/bird-gw.ctl" "$E2E_TMP/no-such-bird.ctl"
	WAIT_STEPS=300 wait_for "the announcement after the retry" bgp_learnt
}
