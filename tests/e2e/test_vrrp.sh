# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_vrrp.sh - the nat-gateway-pool's VIP with Debian's keepalived
# (issue 17, items 1-2). Two gateway namespaces, gateway-4 and gateway-5,
# run the seed's nat_gateway_pool inventory (tests/fixtures/inv-nat-pool)
# as written: each a portier daemon that takes its NICs from
# input_interface/output_interface (no --input/--output), and keepalived
# with the configuration "portier keepalived render" wrote for it. A client
# shares the box-network bridge with them.
#
#   client ns  box-network 192.168.1.2 --+-- box-network 192.168.1.4 gateway-4
#                                        +-- box-network 192.168.1.5 gateway-5
#   bridge ns  br-box (box-network), br-gw (gateway-network: 203.0.113.4, .5)
#
# The VIP 192.168.1.254 is on gateway-4 (MASTER, priority 200), the daemons
# say MASTER and BACKUP; gateway-4's keepalived is killed and its links cut:
# the VIP moves to gateway-5 (the time is printed), whose daemon says
# MASTER; gateway-4 comes back and takes the VIP back (priority 200,
# preempting), the daemons say MASTER and BACKUP again.

VRRP_VIP=192.168.1.254
VRRP_VRID=5
VRRP_WAIT_STEPS=200	# 200 x 0.05 s = 10 s, for a takeover of ~3 s

# vrrp_ns NAME: the namespace of gateway NAME (4 or 5).
vrrp_ns() { echo "ptv$1-$E2E_ID"; }

# vrrp_cleanup: every keepalived, parent and VRRP child (the child of a
# parent killed with SIGKILL is left alone by it), then e2e_cleanup.
vrrp_cleanup() {
	local f p
	set +e	# from a trap, under set -e: clean up everything
	for f in "$E2E_TMP"/keepalived-*.pid "$E2E_TMP"/vrrp-*.pid; do
		[ -e "$f" ] || continue
		p=$(cat "$f" 2>/dev/null)
		[ -n "$p" ] && kill -TERM "$p" 2>/dev/null
	done
	e2e_cleanup
}

# vrrp_topo: the namespaces, the two bridges, addresses.
vrrp_topo() {
	local g n
	ip netns add "$NS_CLIENT" && ip netns add "$NS_BR" || return 1
	ns "$NS_BR" ip link add br-box type bridge
	ns "$NS_BR" ip link add br-gw type bridge
	ns "$NS_BR" ip link set br-box up
	ns "$NS_BR" ip link set br-gw up
	ns "$NS_CLIENT" ip link set lo up
	veth_pair "$NS_CLIENT" box-network "$NS_BR" bc || return 1
	ns "$NS_BR" ip link set bc master br-box
	ns "$NS_CLIENT" ip addr add 192.168.1.2/24 dev box-network
	for g in 4 5; do
		n=$(vrrp_ns $g)
		ip netns add "$n" || return 1
		NS_NODES+=("$n")
		ns "$n" ip link set lo up
		veth_pair "$n" box-network "$NS_BR" "b$g" || return 1
		veth_pair "$n" gateway-network "$NS_BR" "g$g" || return 1
		ns "$NS_BR" ip link set "b$g" master br-box
		ns "$NS_BR" ip link set "g$g" master br-gw
		ns "$n" ip addr add "192.168.1.$g/24" dev box-network
		ns "$n" ip addr add "$GW_NET.$g/24" dev gateway-network
	done
}

# vrrp_daemon G: portier in gateway G's namespace, --host gateway-G, its
# NICs from the inventory, pins in its own directory; waits until it runs.
vrrp_daemon() {
	local g=$1 log=$E2E_TMP/daemon-$1.log i
	ip netns exec "$(vrrp_ns "$g")" "$PORTIER" daemon -i "$INV" --host "gateway-$g" \
		--bpffs "$E2E_TMP/bpffs/g$g" >"$log" 2>&1 &
	E2E_PIDS+=($!)
	for ((i = 0; i < WAIT_STEPS; i++)); do
		grep -qs 'running:' "$log" && return 0
		kill -0 "${E2E_PIDS[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	e2e_log "daemon of gateway-$g did not start; its log:"
	cat "$log" >&2
	return 1
}

# vrrp_keepalived G RUN: Debian's keepalived in gateway G's namespace with
# the rendered configuration; pid files and log per run RUN.
vrrp_keepalived() {
	local g=$1 run=$2
	ip netns exec "$(vrrp_ns "$g")" keepalived -n -l -D -P -f "$E2E_TMP/keepalived-g$g.conf" \
		-p "$E2E_TMP/keepalived-g$g-$run.pid" -r "$E2E_TMP/vrrp-g$g-$run.pid" \
		>"$E2E_TMP/keepalived-g$g-$run.log" 2>&1 &
	E2E_PIDS+=($!)
	KA_PID[$g]=$!
}

# vrrp_role G: the host role gateway G's data plane holds (vrrp show -j).
vrrp_role() {
	"$PORTIER" --bpffs "$E2E_TMP/bpffs/g$1" -j vrrp show 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["role"])' 2>/dev/null
}
vrrp_role_is() { [ "$(vrrp_role "$1")" = "$2" ]; }

# vrrp_local_count G N: gateway G's data plane has N local addresses (what
# "*" routes listen on: the input NIC's, the VIP while G holds it).
vrrp_local_count() {
	"$PORTIER" --bpffs "$E2E_TMP/bpffs/g$1" -j prog show 2>/dev/null | python3 -c 'import json, sys
m = [m for m in json.load(sys.stdin)["maps"] if m["name"] == "portier_local"]
sys.exit(0 if m and m[0]["entries"] == int(sys.argv[1]) else 1)' "$2"
}

# vrrp_has_vip G: the VIP is on gateway G's box-network.
vrrp_has_vip() {
	ns "$(vrrp_ns "$1")" ip -4 -o addr show dev box-network | grep -q " $VRRP_VIP/"
}
vrrp_lacks_vip() { ! vrrp_has_vip "$1"; }

# vrrp_wait WHAT CMD...: retry CMD every 0.05 s, at most VRRP_WAIT_STEPS
# times; prints how long it took (ms) on success.
vrrp_wait() {
	local what=$1 i t0
	shift
	t0=$(date +%s%N)
	for ((i = 0; i < VRRP_WAIT_STEPS; i++)); do
		if "$@"; then
			echo $(( ($(date +%s%N) - t0) / 1000000 ))
			return 0
		fi
		sleep 0.05
	done
	e2e_log "timed out waiting for $what"
	return 1
}

# vrrp_reach G: the client reaches the VIP (a TCP connect to a port
# nothing serves is refused: the host holding the VIP answered), and its
# ARP entry for the VIP is gateway G's box-network.
vrrp_reach() {
	local mac
	ns "$NS_CLIENT" python3 -c 'import socket,sys
s = socket.socket(); s.settimeout(1)
try:
    s.connect((sys.argv[1], 9))
except ConnectionRefusedError:
    sys.exit(0)
except OSError:
    sys.exit(1)
sys.exit(0)' "$VRRP_VIP" || return 1
	mac=$(ns "$(vrrp_ns "$1")" cat /sys/class/net/box-network/address)
	ns "$NS_CLIENT" ip neigh show "$VRRP_VIP" dev box-network | grep -q "lladdr $mac "
}

# vrrp_logs: what keepalived and the daemons said, for a failure.
vrrp_logs() {
	local f
	for f in "$E2E_TMP"/keepalived-g*.log "$E2E_TMP"/daemon-*.log; do
		[ -e "$f" ] && { echo "--- $f"; tail -n 30 "$f"; } >&2
	done
}

test_vrrp_failover() {
	local ms
	declare -gA KA_PID=()
	trap 'vrrp_cleanup' EXIT
	INV=$ROOT_DIR/tests/fixtures/inv-nat-pool
	vrrp_topo

	# keepalived.conf from the inventory, checked by keepalived itself.
	for g in 4 5; do
		"$PORTIER" --bpffs "$E2E_TMP/bpffs/g$g" keepalived render -i "$INV" \
			--host "gateway-$g" --output "$E2E_TMP/keepalived-g$g.conf"
		ns "$(vrrp_ns $g)" keepalived -t -f "$E2E_TMP/keepalived-g$g.conf"
	done
	grep -q 'state MASTER' "$E2E_TMP/keepalived-g4.conf"
	grep -q 'priority 100' "$E2E_TMP/keepalived-g5.conf"

	# The daemons first: with no notify yet, each infers BACKUP (no VIP).
	vrrp_daemon 4
	vrrp_daemon 5
	grep -q 'input box-network, output gateway-network' "$E2E_TMP/daemon-4.log"
	grep -q 'vrid 5 .*no role notified yet; BACKUP' "$E2E_TMP/daemon-5.log"

	vrrp_keepalived 4 1
	vrrp_keepalived 5 1
	ms=$(vrrp_wait "the VIP on gateway-4" vrrp_has_vip 4) || { vrrp_logs; return 1; }
	echo "e2e: VIP on gateway-4 ${ms} ms after keepalived started" >&2
	vrrp_wait "gateway-4 MASTER" vrrp_role_is 4 MASTER >/dev/null || { vrrp_logs; return 1; }
	vrrp_wait "gateway-5 BACKUP" vrrp_role_is 5 BACKUP >/dev/null || { vrrp_logs; return 1; }
	vrrp_lacks_vip 5
	vrrp_local_count 5 1
	vrrp_reach 4
	# The role in prog show and stats show too, and the daemon logged it.
	"$PORTIER" --bpffs "$E2E_TMP/bpffs/g4" prog show | grep -q '^vrrp: MASTER'
	"$PORTIER" --bpffs "$E2E_TMP/bpffs/g5" -j stats show |
		python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["vrrp"]["role"] != "BACKUP")'
	grep -q 'vrrp: this host is MASTER' "$E2E_TMP/daemon-4.log"

	# gateway-4 fails: its keepalived killed (parent and VRRP child), its
	# links cut. gateway-5 takes the VIP when the adverts stop.
	kill -KILL "$(cat "$E2E_TMP/vrrp-g4-1.pid")" "${KA_PID[4]}"
	ns "$(vrrp_ns 4)" ip link set box-network down
	ns "$(vrrp_ns 4)" ip link set gateway-network down
	ms=$(vrrp_wait "the VIP on gateway-5" vrrp_has_vip 5) || { vrrp_logs; return 1; }
	echo "e2e: failover: the VIP reached gateway-5 in ${ms} ms" >&2
	ms=$(vrrp_wait "gateway-5 MASTER" vrrp_role_is 5 MASTER) || { vrrp_logs; return 1; }
	echo "e2e: failover: gateway-5's daemon says MASTER ${ms} ms after the VIP came" >&2
	grep -q 'vrrp: vrid 5 on box-network: BACKUP -> MASTER' "$E2E_TMP/daemon-5.log"
	# "*" routes serve the VIP at once: the notify made the daemon read the
	# NIC's addresses again (its tick is 5 s; 5 tries take well under 1 s).
	VRRP_WAIT_STEPS=5 vrrp_wait "the VIP among gateway-5's local addresses" \
		vrrp_local_count 5 2 >/dev/null || { vrrp_logs; return 1; }
	vrrp_wait "the client reaching the VIP on gateway-5" vrrp_reach 5 >/dev/null

	# gateway-4 comes back: links up, keepalived again; priority 200
	# preempts, gateway-5 goes back to BACKUP.
	ns "$(vrrp_ns 4)" ip addr del "$VRRP_VIP/32" dev box-network 2>/dev/null || true
	ns "$(vrrp_ns 4)" ip link set box-network up
	ns "$(vrrp_ns 4)" ip link set gateway-network up
	vrrp_keepalived 4 2
	ms=$(vrrp_wait "the VIP back on gateway-4" vrrp_has_vip 4) || { vrrp_logs; return 1; }
	vrrp_wait "the VIP off gateway-5" vrrp_lacks_vip 5 >/dev/null || { vrrp_logs; return 1; }
	echo "e2e: failback: the VIP back on gateway-4 in ${ms} ms" >&2
	vrrp_wait "gateway-4 MASTER" vrrp_role_is 4 MASTER >/dev/null || { vrrp_logs; return 1; }
	vrrp_wait "gateway-5 BACKUP" vrrp_role_is 5 BACKUP >/dev/null || { vrrp_logs; return 1; }
	VRRP_WAIT_STEPS=5 vrrp_wait "the VIP out of gateway-5's local addresses" \
		vrrp_local_count 5 1 >/dev/null || { vrrp_logs; return 1; }
	vrrp_wait "the client reaching the VIP on gateway-4" vrrp_reach 4 >/dev/null
	# The changes were counted: gateway-5 went BACKUP, MASTER, BACKUP.
	"$PORTIER" --bpffs "$E2E_TMP/bpffs/g5" -j vrrp show >"$E2E_TMP/g5-vrrp.json"
	python3 -c 'import json, sys
i = json.load(open(sys.argv[1]))["instances"][0]
sys.exit(0 if i["vrid"] == 5 and i["changes"] >= 3 and not i["inferred"] else 1)' \
		"$E2E_TMP/g5-vrrp.json" || { cat "$E2E_TMP/g5-vrrp.json" >&2; return 1; }
}

# The NICs: from the inventory when --input/--output are not given (or are
# empty, as an empty PORTIER_INPUT in /etc/default/portier gives); a clear
# error when neither says. Nothing is loaded in either failing case.
test_vrrp_daemon_nics_from_inventory() {
	local out
	# The seed's kube pool has no input_interface: the options are needed.
	if out=$("$PORTIER" daemon -i "$ROOT_DIR/tests/fixtures/seed" --host gateway-1 \
		--bpffs "$PIN_DIR" 2>&1); then
		e2e_log "the daemon started without NICs"
		return 1
	fi
	echo "$out" | grep -q "no input (client-side) NIC for host gateway-1: give --input IF, or input_interface: IF in the inventory"
	if out=$("$PORTIER" daemon -i "$ROOT_DIR/tests/fixtures/seed" --host gateway-1 \
		--input "" --output out0 --bpffs "$PIN_DIR" 2>&1); then
		return 1
	fi
	echo "$out" | grep -q "no input (client-side) NIC"
	# The nat pool names them; the daemon takes them (and says which are
	# missing on this machine: the namespace has no box-network).
	ip netns add "$NS_GW"
	if out=$(ns "$NS_GW" "$PORTIER" daemon -i "$ROOT_DIR/tests/fixtures/inv-nat-pool" \
		--host gateway-5 --bpffs "$PIN_DIR" 2>&1); then
		return 1
	fi
	echo "$out" | grep -q "no interface 'box-network' (the inventory's input_interface of host gateway-5); name the NIC there, or give --input IF"
	[ ! -e "$PIN_DIR/portier_vrrp" ]
}
