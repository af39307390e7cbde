# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_forward.sh - forwarding end to end (issue 3): exact round-robin over
# the gateway itself and the nodes, snat and dnat, a UDP route, an
# undeclared port; balance maglev with weights (issue 16). Each test_* runs
# in its own topology (run.sh).

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

# undeclared_unseen NAME...: no server NAME saw a connection on the
# undeclared port.
undeclared_unseen() {
	local n
	for n in "$@"; do
		if grep -q "^tcp $UNDECLARED_PORT " "$E2E_TMP/server-$n.log"; then
			e2e_log "$n got a connection on undeclared port $UNDECLARED_PORT"
			return 1
		fi
	done
}

test_undeclared_port_not_forwarded() {
	seed_up snat
	out=$(client_run tcp "$UNDECLARED_PORT" 3)
	expect_out "port $UNDECLARED_PORT" "$out" "ERROR 3"
	undeclared_unseen gateway-2 gateway-3
}

# balance maglev with weights (issue 16): the seed's routes with
# balance maglev, node-2 at portier_weight 2; route show gives the balance,
# the table's size and the weights; 300 connections spread by the weights:
# node-2 about half (150, sd 8.7: 115..185 is 4 sd each way; without its
# weight it would get 100), the others about 75 (sd 7.5) each.
test_remote_maglev_weights() {
	local out j n2 n3 n4
	topo_up 2 3 4
	servers_up gateway-1 node-2 node-3 node-4
	inv_write "$E2E_TMP/inv" kube_gateway_pool kube_nodes "    kube_gateway_pool:
      hosts:
        gateway-1: {ansible_host: $GW_OUT_ADDR}
    kube_nodes:
      hosts:
        node-2: {ansible_host: $GW_NET.2, portier_weight: 2}
        node-3: {ansible_host: $GW_NET.3}
        node-4: {ansible_host: $GW_NET.4}"
	sed -i 's/balance: roundrobin/balance: maglev/' "$E2E_TMP/inv/group_vars/kube_gateway_pool.yml"
	daemon_start "$E2E_TMP/inv" --nat dnat
	j=$(ns "$NS_GW" "$PORTIER" -j route show "${SEED_ROUTES[0]}" --bpffs "$PIN_DIR")
	jq -e '.[0].balance == "maglev" and .[0].table_size == 65537 and
		([.[0].backends[].weight] == [2, 1, 1])' <<<"$j" >/dev/null || {
		e2e_log "route show -j: $j"; return 1; }
	ns "$NS_GW" "$PORTIER" route show "${SEED_ROUTES[0]}" --bpffs "$PIN_DIR" |
		grep -q "balance maglev table 65537" || { e2e_log "route show: no table"; return 1; }
	out=$(client_run tcp "${SEED_PORTS[0]}" "$CONNS")
	n2=$(awk '$1 == "node-2" { print $2 }' <<<"$out")
	n3=$(awk '$1 == "node-3" { print $2 }' <<<"$out")
	n4=$(awk '$1 == "node-4" { print $2 }' <<<"$out")
	e2e_log "maglev, weights 2 1 1: node-2 ${n2:-0} node-3 ${n3:-0} node-4 ${n4:-0}"
	[ "$((${n2:-0} + ${n3:-0} + ${n4:-0}))" -eq "$CONNS" ] &&
		[ "${n2:-0}" -ge 115 ] && [ "${n2:-0}" -le 185 ] &&
		[ "${n3:-0}" -ge 40 ] && [ "${n4:-0}" -ge 40 ]
}
