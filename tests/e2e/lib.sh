# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# lib.sh - the end-to-end test topology (design.md, "Test topology
# convention"), sourced by tests/e2e/run.sh and tools/demo.sh.
#
#   client ns   c0 198.51.100.2/24 ---- in0 198.51.100.1/24   gateway ns
#                                        out0 203.0.113.1/24  (portier, and a
#                                          |                    local server)
#   bridge ns   br0: bgw, b2, b3, ...  ----+
#   node ns k   eth0 203.0.113.k/24  (a server naming the node)
#
# Every namespace name carries a per-run suffix; nothing links to the root
# namespace. TX checksum offload is off on every veth (so a wrong checksum
# is seen by the receiver), and GRO is on wherever XDP-redirected frames
# arrive (a veth needs NAPI to receive them). e2e_cleanup (run from a trap)
# stops every process started here and deletes every namespace.
#
# Use: e2e_init; topo_up NODE_OCTET...; servers_up NAME...; inv_seed DIR;
#      daemon_start INV [daemon options]; ...; e2e_cleanup
#
# Dual stack (topo_up6 instead of topo_up): the same namespaces and links
# with IPv6 as well, from the documentation prefix only:
#   client c0 2001:db8:1::2/64 -- in0 2001:db8:1::1/64 gateway
#                                 out0 2001:db8:2::1/64
#   node k eth0 2001:db8:2::k/64
# hosts6_up NAME=OCTET... makes names resolve (A and AAAA) in the gateway.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_DIR=$(cd "$E2E_DIR/../.." && pwd)
PORTIER=${PORTIER_BIN:-$ROOT_DIR/build/portier}
TRAFGEN=$(dirname "$PORTIER")/trafgen
SERVERS=$E2E_DIR/servers
CLIENT=$E2E_DIR/client

BOX_NET=198.51.100
GW_NET=203.0.113
CLIENT_ADDR=$BOX_NET.2
GW_IN_ADDR=$BOX_NET.1
GW_OUT_ADDR=$GW_NET.1
# IPv6 (topo_up6): /64s of 2001:db8::/32, node k at $GW_NET6::k.
BOX_NET6=2001:db8:1
GW_NET6=2001:db8:2
CLIENT_ADDR6=$BOX_NET6::2
GW_IN_ADDR6=$BOX_NET6::1
GW_OUT_ADDR6=$GW_NET6::1
INV_FAMILY=		# inv_write: a "family:" key on every route if set
# The seed's NodePorts, in route order (argocd spelled "arogcd" in the seed).
SEED_ROUTES=(arogcd pgadmin4 dash keycloak kibana v-admin)
SEED_PORTS=(30080 30081 30082 30083 30084 30085)
UDP_PORT=30086		# the fixture's UDP route "syslog"
UNDECLARED_PORT=30099	# served by every node, declared by no route
WAIT_STEPS=100		# bounded waits: 100 x 0.1 s
E2E_PIDS=()
E2E_NS=()		# more namespaces a test made (e2e_ns_add): deleted at cleanup
E2E_ETC=()		# /etc/netns/NS directories made (hosts6_up): removed at cleanup

e2e_log() { echo "e2e: $*" >&2; }

# e2e_init: unique names, a scratch directory, a private bpffs for pins.
e2e_init() {
	E2E_ID=$$-$RANDOM
	NS_CLIENT=ptc-$E2E_ID
	NS_GW=ptg-$E2E_ID
	NS_BR=ptb-$E2E_ID
	NS_NODES=()
	E2E_TMP=$(mktemp -d /tmp/portier-e2e.XXXXXX)
	mkdir -p "$E2E_TMP/bpffs"
	mount -t bpf bpf "$E2E_TMP/bpffs" || { e2e_log "cannot mount bpffs"; return 1; }
	PIN_DIR=$E2E_TMP/bpffs/portier
	DAEMON_PID=
}

ns() { local n=$1; shift; ip netns exec "$n" "$@"; }

# e2e_ns_add NAME: a namespace of a test's own topology (beyond topo_up's),
# lo up, deleted by e2e_cleanup. NAME must carry E2E_ID.
e2e_ns_add() {
	ip netns add "$1" || return 1
	E2E_NS+=("$1")
	ns "$1" ip link set lo up
}

# veth_pair NS_A DEV_A NS_B DEV_B: a veth between two namespaces, up, with
# TX checksum offload off on both ends and GRO on (NAPI for XDP redirect).
veth_pair() {
	local na=$1 da=$2 nb=$3 db=$4
	# Made inside NS_A with its peer in NS_B: never in the root namespace,
	# and nothing to leak there if a step fails.
	ip -n "$na" link add "$da" type veth peer name "$db" netns "$nb" || return 1
	ns "$na" ip link set "$da" up || return 1
	ns "$nb" ip link set "$db" up || return 1
	# GRO is switched on while both ends are up, off first: veth enables
	# NAPI, and lets its peer redirect into it, only on a change while up.
	for end in "$na $da" "$nb $db"; do
		set -- $end
		ns "$1" ethtool -K "$2" tx off gro off >/dev/null 2>&1 || return 1
		ns "$1" ethtool -K "$2" gro on >/dev/null 2>&1 || return 1
	done
}

# ns_nodad NS: no duplicate address detection in NS (devices made after
# this): an IPv6 address, link-local ones too, is usable at once.
ns_nodad() {
	ns "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		>/dev/null
}

# topo_up OCTET...: the namespaces; one node namespace per octet
# (203.0.113.OCTET). Nodes route the box network through the gateway (dnat).
topo_up() {
	local o
	for n in "$NS_CLIENT" "$NS_GW" "$NS_BR"; do
		ip netns add "$n" || return 1
		ns "$n" ip link set lo up
		ns_nodad "$n" || return 1
	done
	veth_pair "$NS_CLIENT" c0 "$NS_GW" in0 || return 1
	# The client's end takes what portier sends back with XDP_TX (cookie
	# SYN-ACKs, fragmentation needed) in XDP's NAPI mode: with GRO's, such
	# frames were seen to wait seconds for a later frame. (No trafgen, as
	# in "make demo": GRO's mode, which forwarding does not need more.)
	if [ -x "$TRAFGEN" ]; then
		ns "$NS_CLIENT" "$TRAFGEN" pass --dev c0 || return 1
	fi
	ns "$NS_CLIENT" ip addr add "$CLIENT_ADDR/24" dev c0
	ns "$NS_CLIENT" ip route add default via "$GW_IN_ADDR"
	ns "$NS_GW" ip addr add "$GW_IN_ADDR/24" dev in0
	ns "$NS_BR" ip link add br0 type bridge
	ns "$NS_BR" ip link set br0 up
	veth_pair "$NS_GW" out0 "$NS_BR" bgw || return 1
	ns "$NS_BR" ip link set bgw master br0
	ns "$NS_GW" ip addr add "$GW_OUT_ADDR/24" dev out0
	for o in "$@"; do
		local n=ptn$o-$E2E_ID
		ip netns add "$n" || return 1
		NS_NODES+=("$n")
		ns "$n" ip link set lo up
		ns_nodad "$n" || return 1
		veth_pair "$n" eth0 "$NS_BR" "b$o" || return 1
		ns "$NS_BR" ip link set "b$o" master br0
		ns "$n" ip addr add "$GW_NET.$o/24" dev eth0
		ns "$n" ip route add "$BOX_NET.0/24" via "$GW_OUT_ADDR"
	done
}

# topo_up6 OCTET...: topo_up, and IPv6 on every link (see the top): nodad
# addresses, forwarding in the gateway, the client's and the nodes' default
# IPv6 routes through the gateway. The bridge forwards multicast (neighbour
# discovery) without snooping.
topo_up6() {
	local o i=0
	topo_up "$@" || return 1
	ns "$NS_BR" ip link set br0 type bridge mcast_snooping 0 || return 1
	ns "$NS_GW" sysctl -qw net.ipv6.conf.all.forwarding=1 >/dev/null || return 1
	ns "$NS_CLIENT" ip -6 addr add "$CLIENT_ADDR6/64" dev c0 nodad || return 1
	ns "$NS_CLIENT" ip -6 route add default via "$GW_IN_ADDR6" || return 1
	ns "$NS_GW" ip -6 addr add "$GW_IN_ADDR6/64" dev in0 nodad || return 1
	ns "$NS_GW" ip -6 addr add "$GW_OUT_ADDR6/64" dev out0 nodad || return 1
	for o in "$@"; do
		ns "${NS_NODES[$i]}" ip -6 addr add "$GW_NET6::$o/64" dev eth0 nodad || return 1
		ns "${NS_NODES[$i]}" ip -6 route add default via "$GW_OUT_ADDR6" || return 1
		i=$((i + 1))
	done
}

# hosts6_up NAME=OCTET...: in the gateway namespace (where the daemon
# resolves), NAME resolves to $GW_NET.OCTET (A) and $GW_NET6::OCTET (AAAA):
# /etc/netns/NS/hosts, which ip netns exec mounts over /etc/hosts there
# (removed by e2e_cleanup).
hosts6_up() {
	local d=/etc/netns/$NS_GW a
	mkdir -p "$d" || return 1
	E2E_ETC+=("$d")
	{
		echo "127.0.0.1 localhost"
		echo "::1 localhost ip6-localhost ip6-loopback"
		for a in "$@"; do
			echo "$GW_NET.${a#*=} ${a%%=*}"
			echo "$GW_NET6::${a#*=} ${a%%=*}"
		done
	} >"$d/hosts"
}

# server_start NS NAME: the name server on every seed port, the UDP port and
# the undeclared port (the gateway does not serve the undeclared port).
server_start() {
	local n=$1 name=$2 ports
	ports=$(IFS=,; echo "${SEED_PORTS[*]}")
	[ "$n" != "$NS_GW" ] && ports=$ports,$UNDECLARED_PORT
	# ip netns exec itself (not the ns function, which would fork a
	# subshell): $! is then the server, and the trap can stop it.
	ip netns exec "$n" "$SERVERS" "$name" "$E2E_TMP/server-$name.log" "tcp:$ports" \
		"udp:$UDP_PORT" >"$E2E_TMP/server-$name.out" 2>&1 &
	E2E_PIDS+=($!)
	wait_for "server $name" grep -qs ready "$E2E_TMP/server-$name.out"
}

# servers_up NAME...: the gateway's server as the first name, then one per
# node namespace in topo_up order.
servers_up() {
	server_start "$NS_GW" "$1" || return 1
	shift
	local i=0
	for name in "$@"; do
		server_start "${NS_NODES[$i]}" "$name" || return 1
		i=$((i + 1))
	done
}

# wait_for WHAT CMD...: retry CMD, at most WAIT_STEPS times 0.1 s.
wait_for() {
	local what=$1 i
	shift
	for ((i = 0; i < WAIT_STEPS; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	e2e_log "timed out waiting for $what"
	return 1
}

# inv_write DIR TARGET_GROUP DEST_GROUP HOSTS_YAML [udp]: an inventory in
# the seed's shape: hosts.yml with the app ports, group_vars/TARGET.yml with
# the six routes to DEST_GROUP (and the UDP route "syslog" with "udp").
inv_write() {
	local dir=$1 target=$2 dest=$3 hosts=$4 extra=${5:-} i
	mkdir -p "$dir/group_vars"
	{
		echo "all:"
		echo "  vars:"
		echo "    app:"
		for i in "${!SEED_ROUTES[@]}"; do
			echo "      ${SEED_ROUTES[$i]}: {port: ${SEED_PORTS[$i]}}"
		done
		echo "      syslog: {port: $UDP_PORT}"
		echo "  children:"
		printf '%s\n' "$hosts"
	} >"$dir/hosts.yml"
	{
		echo "proxies:"
		echo "  target:"
		echo "    group: $target"
		echo "  routes:"
		for i in "${!SEED_ROUTES[@]}"; do
			local r=${SEED_ROUTES[$i]} ref
			ref="app.$r.port"
			# The seed writes app.v-admin.port (portier warns); the
			# fixture uses the subscript form unless SEED_VERBATIM=1.
			[ "$r" = v-admin ] && [ "${SEED_VERBATIM:-0}" != 1 ] &&
				ref="app['v-admin'].port"
			cat <<EOF
    $r:
      mode: http
      address: "*"
      port: "{{ $ref }}"${INV_FAMILY:+
      family: $INV_FAMILY}
      destination:
        group:
          name: $dest
          port: "{{ $ref }}"
        balance: roundrobin
        options:
          - httplog
EOF
		done
		if [ "$extra" = udp ]; then
			cat <<EOF
    syslog:
      mode: tcp
      proto: udp
      address: "*"
      port: "{{ app.syslog.port }}"${INV_FAMILY:+
      family: $INV_FAMILY}
      destination:
        group:
          name: $dest
          port: "{{ app.syslog.port }}"
        balance: roundrobin
EOF
		fi
	} >"$dir/group_vars/$target.yml"
}

# inv_seed DIR [udp]: the seed: gateway-1 (this gateway) and two nodes, one
# group that is both target and destination.
inv_seed() {
	inv_write "$1" kube_gateway_pool kube_gateway_pool "    kube_gateway_pool:
      hosts:
        gateway-1: {ansible_host: $GW_OUT_ADDR}
        gateway-2: {ansible_host: $GW_NET.2}
        gateway-3: {ansible_host: $GW_NET.3}" "${2:-}"
}

# inv_remote DIR [udp]: gateway-1 runs portier; the destination is three
# remote nodes, node-2..node-4.
inv_remote() {
	inv_write "$1" kube_gateway_pool kube_nodes "    kube_gateway_pool:
      hosts:
        gateway-1: {ansible_host: $GW_OUT_ADDR}
    kube_nodes:
      hosts:
        node-2: {ansible_host: $GW_NET.2}
        node-3: {ansible_host: $GW_NET.3}
        node-4: {ansible_host: $GW_NET.4}" "${2:-}"
}

# daemon_start INV [OPTIONS...]: portier daemon in the gateway namespace,
# pins in the private bpffs; waits until it says it runs, and gives up at
# once (with its log) if it exits first.
daemon_start() {
	local inv=$1 i rc
	shift
	DAEMON_LOG=$E2E_TMP/daemon.log
	ip netns exec "$NS_GW" "$PORTIER" daemon -i "$inv" --host gateway-1 --input in0 --output out0 \
		--bpffs "$PIN_DIR" "$@" >>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	for ((i = 0; i < WAIT_STEPS; i++)); do
		daemon_running && return 0
		if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			rc=0
			wait "$DAEMON_PID" || rc=$?	# under set -e too
			DAEMON_PID=
			e2e_log "the daemon exited (status $rc) before it ran; its log:"
			cat "$DAEMON_LOG" >&2
			return 1
		fi
		sleep 0.1
	done
	e2e_log "timed out waiting for the daemon; its log:"
	cat "$DAEMON_LOG" >&2
	return 1
}

# daemon_running: 0 once the daemon has logged "running:" (DAEMON_STARTS
# times, default once), 2 if it is gone, else 1.
daemon_running() {
	local n
	kill -0 "$DAEMON_PID" 2>/dev/null || return 2
	n=$(grep -cs 'running:' "$DAEMON_LOG")
	[ "${n:-0}" -ge "${DAEMON_STARTS:-1}" ]
}

# daemon_stop [SIGNAL]: stop it (TERM: clean stop), bounded, then KILL.
daemon_stop() {
	local sig=${1:-TERM} i
	[ -n "$DAEMON_PID" ] || return 0
	kill -"$sig" "$DAEMON_PID" 2>/dev/null || true
	for ((i = 0; i < WAIT_STEPS; i++)); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$DAEMON_PID" 2>/dev/null || true
	wait "$DAEMON_PID" 2>/dev/null || true
	DAEMON_PID=
}

# client_run tcp|udp PORT COUNT [ADDR]: the client from the client
# namespace; prints "NAME COUNT" lines.
client_run() {
	ns "$NS_CLIENT" timeout 120 "$CLIENT" "$1" "${4:-$GW_IN_ADDR}" "$2" "$3" 2
}

e2e_cleanup() {
	set +e	# runs from a trap, maybe under set -e: clean up everything
	daemon_stop TERM
	for p in "${E2E_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	E2E_PIDS=()
	for n in "$NS_CLIENT" "$NS_GW" "$NS_BR" "${NS_NODES[@]}" "${E2E_NS[@]}"; do
		[ -n "$n" ] && ip netns del "$n" 2>/dev/null
	done
	NS_NODES=()
	E2E_NS=()
	for d in "${E2E_ETC[@]}"; do
		case $d in /etc/netns/*-"$E2E_ID") rm -rf "$d" ;; esac
	done
	E2E_ETC=()
	if [ -n "${E2E_TMP:-}" ]; then
		umount "$E2E_TMP/bpffs" 2>/dev/null
		rm -rf "$E2E_TMP"
		E2E_TMP=
	fi
}
