# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_nic_check.sh - the daemon warns at start about a NIC that hands XDP
# frames with partial checksums (issue 14, item 6; docs/dataplane.md,
# "Partial checksums"): a veth whose peer, in the gateway's namespace, has
# TX checksum offload on gets the warning naming the peer and the ethtool
# command; one whose peer has it off gets none; a veth whose peer is in
# another namespace gets the "may offload: check the peer" warning. lib.sh
# turns TX offload off everywhere, so these veths are made here.

# nic_pair NS A B: a veth A <-> B, both in NS, up.
nic_pair() {
	ip -n "$1" link add "$2" type veth peer name "$3" || return 1
	ns "$1" ip link set "$2" up && ns "$1" ip link set "$3" up
}

# nic_tx NS DEV on|off: TX checksum offload of DEV.
nic_tx() { ns "$1" ethtool -K "$2" tx "$3" >/dev/null; }

# nic_start INPUT OUTPUT: the daemon on these NICs, a fresh log.
nic_start() {
	[ -e "$E2E_TMP/daemon.log" ] && mv "$E2E_TMP/daemon.log" "$E2E_TMP/daemon-$SECONDS-$RANDOM.log"
	daemon_start "$E2E_TMP/inv" --input "$1" --output "$2"
}

# nic_says PATTERN: the daemon's log has a warning line with PATTERN.
nic_says() { grep -q -- "warning: .*$1" "$DAEMON_LOG"; }

nic_expect() {
	if ! nic_says "$1"; then
		e2e_log "no warning '$1'; the daemon said:"
		grep warning "$DAEMON_LOG" >&2
		return 1
	fi
	e2e_log "warned: $1"
}

nic_expect_none() {
	if nic_says "$1"; then
		e2e_log "unexpected warning: $(grep -- "$1" "$DAEMON_LOG")"
		return 1
	fi
}

test_veth_peer_checksum_warning() {
	local on='is a veth whose peer' elsewhere='is in another network namespace'
	ip netns add "$NS_GW"
	ip netns add "$NS_CLIENT"
	ns "$NS_GW" ip link set lo up
	nic_pair "$NS_GW" pin0 pin1
	nic_pair "$NS_GW" pout0 pout1
	ns "$NS_GW" ip addr add "$GW_IN_ADDR/24" dev pin0
	ns "$NS_GW" ip addr add "$GW_OUT_ADDR/24" dev pout0
	inv_seed "$E2E_TMP/inv"

	# The input's peer offloads, the output's does not.
	nic_tx "$NS_GW" pin1 on
	nic_tx "$NS_GW" pout1 off
	nic_start pin0 pout0
	nic_expect "--input pin0 $on pin1 has TX checksum offload on.*'ethtool -K pin1 tx off'"
	nic_expect_none "--output pout0"
	daemon_stop TERM

	# The other way round.
	nic_tx "$NS_GW" pin1 off
	nic_tx "$NS_GW" pout1 on
	nic_start pin0 pout0
	nic_expect "--output pout0 $on pout1 has TX checksum offload on"
	nic_expect_none "--input pin0"
	daemon_stop TERM

	# Neither.
	nic_tx "$NS_GW" pout1 off
	nic_start pin0 pout0
	nic_expect_none "partial checksums"
	daemon_stop TERM

	# The input's peer in another namespace: it may offload, check it.
	ip -n "$NS_GW" link add pex0 type veth peer name pex1 netns "$NS_CLIENT"
	ns "$NS_GW" ip link set pex0 up
	ns "$NS_CLIENT" ip link set pex1 up
	nic_start pex0 pout0
	nic_expect "--input pex0 $on (ifindex [0-9]* there) $elsewhere"
	nic_expect_none "--output pout0"
}
