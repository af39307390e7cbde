# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_forward.sh - forwarding end to end (issue 3): exact round-robin over
# the gateway itself and the nodes, snat and dnat, a UDP route, an
# undeclared port. Each test_* runs in its own topology (run.sh).

CONNS=300	# connections per route; 100 per backend over three

# expect_out WHAT GOT WANT: compare the client's "NAME COUNT" lines.
expect_out() {
	if [ "$2" != "$3" ]; then
		e2e_log "$1: got [$(echo $2)], want [$(echo $3)]"
		return 1
	fi
	e2e_log "$1: $(echo $2)"
}

# seed_up NAT: the seed's shape, the daemon with --nat NAT.
seed_up() {
	topo_up 2 3
	servers_up gateway-1 gateway-2 gateway-3
	inv_seed "$E2E_TMP/inv" udp
	daemon_start "$E2E_TMP/inv" --nat "$1"
}

remote_up() {
	topo_up 2 3 4
	servers_up gateway-1 node-2 node-3 node-4
	inv_remote "$E2E_TMP/inv" udp
	daemon_start "$E2E_TMP/inv" --nat "$1"
}

# two_routes N1 N2 N3: 300 connections through arogcd and pgadmin4 land
# 100 on each of the three names.
two_routes() {
	local want out port
	want=$(printf '%s 100\n' "$@")
	for port in "${SEED_PORTS[0]}" "${SEED_PORTS[1]}"; do
		out=$(client_run tcp "$port" "$CONNS")
		expect_out "port $port" "$out" "$want" || return 1
	done
}

# peers_seen NAME ADDR: node NAME's server saw client connections from ADDR
# only. The daemon's own health checks are not clients: they come from the
# gateway's output address and an ephemeral port of its stack (32768 and
# up), where SNAT takes ports from 16384-29999 (--snat-ports' default) and
# a DNAT client has its own address. So a check is told apart from a client
# in both modes, and a SNAT client is really seen (not a check standing in
# for it).
peers_seen() {
	local log=$E2E_TMP/server-$1.log clients others
	clients=$(awk -v gw="$GW_OUT_ADDR" '$1 == "tcp" { split($3, a, ":");
		if (!(a[1] == gw && a[2] + 0 >= 32768)) print }' "$log")
	grep -q "^tcp [0-9]* $2:" <<<"$clients" || { e2e_log "$1 saw no peer $2"; return 1; }
	others=$(grep -v "^tcp [0-9]* $2:" <<<"$clients" || true)
	if [ -n "$others" ]; then
		e2e_log "$1 saw peers other than $2: $(echo "$others" | head -3)"
		return 1
	fi
}

test_seed_snat_roundrobin() {
	seed_up snat
	two_routes gateway-1 gateway-2 gateway-3
	# SNAT: a node sees the gateway's output address, never the client.
	peers_seen gateway-2 "$GW_OUT_ADDR"
}

test_seed_dnat_roundrobin() {
	seed_up dnat
	two_routes gateway-1 gateway-2 gateway-3
	# DNAT: a node sees the client's own address.
	peers_seen gateway-3 "$CLIENT_ADDR"
}

test_remote_snat_roundrobin() {
	remote_up snat
	two_routes node-2 node-3 node-4
}

test_remote_dnat_roundrobin() {
	remote_up dnat
	two_routes node-2 node-3 node-4
}

test_udp_route() {
	seed_up snat
	out=$(client_run udp "$UDP_PORT" 30)
	expect_out "udp $UDP_PORT" "$out" "$(printf '%s 10\n' gateway-1 gateway-2 gateway-3)"
}

test_undeclared_port_not_forwarded() {
	seed_up snat
	out=$(client_run tcp "$UNDECLARED_PORT" 3)
	expect_out "port $UNDECLARED_PORT" "$out" "ERROR 3"
	for n in gateway-2 gateway-3; do
		if grep -q "^tcp $UNDECLARED_PORT " "$E2E_TMP/server-$n.log"; then
			e2e_log "$n got a connection on undeclared port $UNDECLARED_PORT"
			return 1
		fi
	done
}
