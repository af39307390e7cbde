# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_lookup.sh - the pool's CLI (issue 16): route add with balance
# maglev, table-size and weights; route show and its JSON; route lookup
# (the loaded table) and config lookup (the inventory's) agreeing with each
# other and with where the data plane sent real connections; a drained
# backend, and one failing its health checks, rebuilding the table (config
# lookup's "down" agrees); a runtime route of an inventory route's name
# and backends building the same table; roundrobin's "next"; the errors,
# which change nothing. Uses cli, jcheck and idle_conns of test_cli.sh.

LOOKUP_CONNS=100	# held connections per check
LOOKUP_TUPLES=400	# made-up tuples per comparison

# lookup_up: three nodes behind gateway-1; the seed's routes balance maglev,
# node-2 at portier_weight 2; dnat (the nodes see the client's address).
lookup_up() {
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
	sed -i 's/balance: roundrobin/balance: maglev/' \
		"$E2E_TMP/inv/group_vars/kube_gateway_pool.yml"
	daemon_start "$E2E_TMP/inv" --nat dnat
}

# made_up_clients N: N client ADDR:PORT, spread over the client network.
made_up_clients() {
	local i
	for ((i = 0; i < $1; i++)); do
		echo "$BOX_NET.$((2 + i % 200)):$((20000 + i * 37))"
	done
}

# client_words CLIENT...: "client C" for each.
client_words() { printf 'client %s ' "$@"; }

# ct_pairs ROUTE: "CLIENT BACKEND" of the route's flows in the connection
# table (where the data plane sent them), sorted.
ct_pairs() {
	cli -j conntrack show route "$1" | jq -r '.[] | "\(.client) \(.backend)"' | sort
}

# live_pairs ROUTE CLIENT...: "CLIENT BACKEND" by route lookup, sorted.
live_pairs() {
	local r=$1
	shift
	cli -j route lookup "$r" address "$GW_IN_ADDR" $(client_words "$@") |
		jq -r '.[] | "\(.client) \(.backend)"' | sort
}

# offline_pairs ROUTE CLIENT... [-- EXTRA...]: the same by config lookup on
# this run's inventory (EXTRA: "down ADDR:PORT"), off the gateway.
offline_pairs() {
	local r=$1 c=() extra=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do c+=("$1"); shift; done
	[ $# -gt 0 ] && { shift; extra=("$@"); }
	"$PORTIER" -j config lookup -i "$E2E_TMP/inv" --host gateway-1 "$r" \
		address "$GW_IN_ADDR" $(client_words "${c[@]}") "${extra[@]}" |
		jq -r '.[] | "\(.client) \(.backend)"' | sort
}

# same WHAT A B: the two listings are equal and not empty.
same() {
	if [ -z "$2" ] || [ "$2" != "$3" ]; then
		e2e_log "$1: they differ:"
		diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | head -10 >&2
		return 1
	fi
	e2e_log "$1: $(printf '%s\n' "$2" | wc -l) agree"
}

# held_agree ROUTE PORT: LOOKUP_CONNS held connections to PORT; where the
# data plane sent each (connection table) is what route lookup (and, for
# an inventory route, config lookup) says.
held_agree() {
	local route=$1 port=$2 ct clients live
	idle_conns "$port" "$LOOKUP_CONNS" || return 1
	ct=$(ct_pairs "$route")
	[ "$(printf '%s\n' "$ct" | wc -l)" -eq "$LOOKUP_CONNS" ] ||
		{ e2e_log "$route: $(printf '%s\n' "$ct" | wc -l) flows"; return 1; }
	clients=($(printf '%s\n' "$ct" | cut -d' ' -f1))
	live=$(live_pairs "$route" "${clients[@]}")
	same "$route: connection table vs route lookup" "$ct" "$live" || return 1
	# the flow's own backend, as route lookup reports it, is the table's
	jcheck "$route: flow = backend" 'all(.[]; .flow == .backend and .state == "up")' \
		"$(cli -j route lookup "$route" address "$GW_IN_ADDR" \
			$(client_words "${clients[@]}"))"
}

# Live and offline agree with each other and with the data plane: held
# connections, made-up tuples, a drained backend (offline: down).
test_lookup_live_offline_agree() {
	local route=${SEED_ROUTES[0]} port=${SEED_PORTS[0]} clients live off j
	lookup_up
	held_agree "$route" "$port" || return 1
	clients=($(made_up_clients "$LOOKUP_TUPLES"))
	live=$(live_pairs "$route" "${clients[@]}")
	off=$(offline_pairs "$route" "${clients[@]}")
	same "route lookup vs config lookup" "$live" "$off" || return 1
	# every backend takes tuples, node-2 (weight 2) the most
	printf '%s\n' "$live" | awk '{ n[$2]++ } END { for (b in n) print b, n[b] }' >&2
	[ "$(printf '%s\n' "$live" | cut -d' ' -f2 | sort -u | wc -l)" -eq 3 ] ||
		{ e2e_log "not every backend takes tuples"; return 1; }
	# slots too
	j=$(cli -j route lookup "$route" address "$GW_IN_ADDR" $(client_words "${clients[@]:0:20}"))
	jcheck "slots" '(.[0].table_size == 65537) and all(.[]; .decided and .balance == "maglev"
		and .slot < 65537 and (.backend_id | type) == "number")' "$j" || return 1
	[ "$(jq -c '[.[].slot]' <<<"$j")" = "$("$PORTIER" -j config lookup -i "$E2E_TMP/inv" \
		--host gateway-1 "$route" address "$GW_IN_ADDR" \
		$(client_words "${clients[@]:0:20}") | jq -c '[.[].slot]')" ] ||
		{ e2e_log "slots differ"; return 1; }

	# A drained backend: the table is rebuilt without it, as config
	# lookup builds it with "down".
	cli backend drain "$route" "$GW_NET.3:$port"
	live=$(live_pairs "$route" "${clients[@]}")
	if printf '%s\n' "$live" | grep -q " $GW_NET.3:"; then
		e2e_log "a tuple still maps to the drained backend"; return 1
	fi
	off=$(offline_pairs "$route" "${clients[@]}" -- down "$GW_NET.3:$port")
	same "drained: route lookup vs config lookup down" "$live" "$off" || return 1
	cli backend enable "$route" "$GW_NET.3:$port"
	same "enabled again" "$(live_pairs "$route" "${clients[@]}")" \
		"$(offline_pairs "$route" "${clients[@]}")"
}

# route add with balance maglev, table-size and weights: shown, used by the
# data plane as route lookup says; a runtime route of an inventory route's
# name and backends builds the inventory's table.
test_lookup_runtime_maglev() {
	local route=${SEED_ROUTES[1]} port=${SEED_PORTS[1]} clients j live off
	lookup_up
	cli route add extra port "$UNDECLARED_PORT" balance maglev table-size 1009 \
		backend "$GW_NET.2:$UNDECLARED_PORT" weight 3 \
		backend "$GW_NET.3:$UNDECLARED_PORT" backend "$GW_NET.4:$UNDECLARED_PORT" weight 0
	j=$(cli -j route show extra)
	jcheck "route show -j extra" '.[0].balance == "maglev" and .[0].table_size == 1009 and
		[.[0].backends[].weight] == [3, 1, 0] and .[0].origin == "runtime"' "$j" || return 1
	cli route show extra | grep -q "balance maglev table 1009" ||
		{ e2e_log "route show: $(cli route show extra)"; return 1; }
	cli route show extra | grep -q "$GW_NET.4:$UNDECLARED_PORT .* weight 0" ||
		{ e2e_log "route show: no weight 0"; return 1; }
	held_agree extra "$UNDECLARED_PORT" || return 1
	if ct_pairs extra | grep -q " $GW_NET.4:"; then
		e2e_log "a flow went to the backend of weight 0"; return 1
	fi

	# The inventory route replaced by a runtime one of the same name and
	# backends (weights included): the same table, tuple for tuple.
	clients=($(made_up_clients "$LOOKUP_TUPLES"))
	off=$(offline_pairs "$route" "${clients[@]}")
	cli route del "$route"
	cli route add "$route" port "$port" balance maglev nat dnat \
		backend "$GW_NET.2:$port" weight 2 backend "$GW_NET.3:$port" \
		backend "$GW_NET.4:$port"
	jcheck "runtime $route" '.[0].origin == "runtime" and .[0].table_size == 65537' \
		"$(cli -j route show "$route")" || return 1
	live=$(live_pairs "$route" "${clients[@]}")
	same "runtime route vs the inventory's (config lookup)" "$live" "$off" || return 1
	held_agree "$route" "$port"
}

# roundrobin: the tuple does not decide; "next" is where the next new flow
# goes.
test_lookup_roundrobin_next() {
	local j next out name
	lookup_up
	cli route add rr port "$UNDECLARED_PORT" backend "$GW_NET.2:$UNDECLARED_PORT" \
		backend "$GW_NET.3:$UNDECLARED_PORT" backend "$GW_NET.4:$UNDECLARED_PORT"
	for i in 1 2 3 4; do
		j=$(cli -j route lookup rr client "$CLIENT_ADDR:40000")
		jcheck "roundrobin lookup" '.[0].decided == false and .[0].balance == "roundrobin"
			and (.[0] | has("slot") | not) and (.[0].next | type) == "string"' "$j" ||
			return 1
		next=$(jq -r '.[0].next' <<<"$j")
		out=$(client_run tcp "$UNDECLARED_PORT" 1)
		name=node-${next#"$GW_NET".}
		name=${name%%:*}
		[ "$out" = "$name 1" ] || { e2e_log "next said $next, the flow went to $out"; return 1; }
	done
	cli route lookup rr client "$CLIENT_ADDR" | grep -q "the tuple does not decide" ||
		{ e2e_log "roundrobin text: $(cli route lookup rr client "$CLIENT_ADDR")"; return 1; }
	e2e_log "roundrobin: next matched 4 new flows"
}

# expect_err WHAT TEXT CMD...: CMD fails (exit 1) saying TEXT; with -j its
# error is {"error": ...} on stdout.
expect_err() {
	local what=$1 text=$2 out rc=0
	shift 2
	out=$("$@" 2>&1) || rc=$?
	if [ "$rc" -ne 1 ] || ! grep -qF -- "$text" <<<"$out"; then
		e2e_log "$what: exit $rc, said: $out"
		return 1
	fi
}

# Bad settings and lookups: refused with the inventory's texts, nothing
# changed (the loaded routes are the same).
test_lookup_errors() {
	local before after b="backend $GW_NET.2:1 backend $GW_NET.3:1 backend $GW_NET.4:1"
	lookup_up
	before=$(cli -j route show | jq -c '[.[].name]')
	expect_err "not prime" "table-size '1000' is not a prime from 101 to 1048573" \
		cli route add bad port 30098 balance maglev table-size 1000 $b || return 1
	expect_err "too small" "a maglev table of 211 slots is too small for 3 backends" \
		cli route add bad port 30098 balance source table-size 211 $b || return 1
	expect_err "unknown algorithm" \
		"balance 'leastconn' is not supported; use roundrobin, maglev or source" \
		cli route add bad port 30098 balance leastconn $b || return 1
	expect_err "table-size on roundrobin" "table-size is for balance maglev or source" \
		cli route add bad port 30098 table-size 1009 $b || return 1
	expect_err "weight" "weight '300' is not a weight" \
		cli route add bad port 30098 $b weight 300 || return 1
	expect_err "lookup, unknown route" "no route 'nosuch' is loaded" \
		cli route lookup nosuch client "$CLIENT_ADDR:1" || return 1
	expect_err "lookup, no port" "hashes the client's port too" \
		cli route lookup "${SEED_ROUTES[0]}" client "$CLIENT_ADDR" address "$GW_IN_ADDR" ||
		return 1
	expect_err "lookup, no address" "give 'address ADDR'" \
		cli route lookup "${SEED_ROUTES[0]}" client "$CLIENT_ADDR:1" || return 1
	expect_err "config lookup, unknown route" "host gateway-1 has no route 'nosuch'" \
		"$PORTIER" config lookup -i "$E2E_TMP/inv" --host gateway-1 nosuch \
		client "$CLIENT_ADDR:1" || return 1
	expect_err "config lookup, unknown down" "has no backend $GW_NET.9:1" \
		"$PORTIER" config lookup -i "$E2E_TMP/inv" --host gateway-1 "${SEED_ROUTES[0]}" \
		client "$CLIENT_ADDR:1" address "$GW_IN_ADDR" down "$GW_NET.9:1" || return 1
	jcheck "JSON error" '.error | test("not a prime")' \
		"$(cli -j route add bad port 30098 balance maglev table-size 1000 $b)" || return 1
	jcheck "JSON lookup error" '.error | test("no route")' \
		"$(cli -j route lookup nosuch client "$CLIENT_ADDR:1")" || return 1
	after=$(cli -j route show | jq -c '[.[].name]')
	[ "$before" = "$after" ] || { e2e_log "routes changed: $before -> $after"; return 1; }
}

# be_state ROUTE ADDR:PORT STATE: the daemon's health checks have set it.
be_state() {
	cli -j backend show "$1" 2>/dev/null |
		jq -e --arg b "$2" --arg s "$3" 'any(.[]; .backend == $b and .state == $s)' \
		>/dev/null
}

# A backend failing its health checks: the daemon rebuilds the table
# without it (as config lookup's "down" builds it), and with it again when
# it is back.
test_lookup_health_down() {
	local route=${SEED_ROUTES[0]} port=${SEED_PORTS[0]} clients before live off
	lookup_up
	clients=($(made_up_clients "$LOOKUP_TUPLES"))
	before=$(live_pairs "$route" "${clients[@]}")
	# node-3's server (servers_up's third) stops: its checks fail
	kill "${E2E_PIDS[2]}"
	WAIT_STEPS=200 wait_for "node-3 down" be_state "$route" "$GW_NET.3:$port" down ||
		return 1
	live=$(live_pairs "$route" "${clients[@]}")
	if printf '%s\n' "$live" | grep -q " $GW_NET.3:"; then
		e2e_log "a tuple still maps to the failing backend"; return 1
	fi
	off=$(offline_pairs "$route" "${clients[@]}" -- down "$GW_NET.3:$port")
	same "health down: route lookup vs config lookup down" "$live" "$off" || return 1
	server_start "${NS_NODES[1]}" node-3 || return 1
	WAIT_STEPS=200 wait_for "node-3 up" be_state "$route" "$GW_NET.3:$port" up || return 1
	same "health up again" "$(live_pairs "$route" "${clients[@]}")" "$before"
}
