#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# keepalived-render.sh - what "portier keepalived render" writes, checked by
# the real keepalived (Debian's): `keepalived -t -f FILE`, its configuration
# test, for each host of the nat-pool fixtures (with flow sync: BACKUP and
# preempt_delay), in a network namespace that
# has the NICs the files name (keepalived checks that they exist); and a
# broken file, to show the check can fail. Root (a namespace); without
# keepalived or root it says so and checks nothing. Ends with "N passed,
# N failed".
#   PORTIER_BIN selects the binary (default build/portier).
set -u
cd "$(dirname "$0")/../.."
PORTIER=${PORTIER_BIN:-build/portier}
passed=0
failed=0

if ! command -v keepalived >/dev/null 2>&1; then
	echo "keepalived-render: keepalived not found (Debian: keepalived); skipped"
	echo "0 passed, 0 failed"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "keepalived-render: needs root (a network namespace); skipped"
	echo "0 passed, 0 failed"
	exit 0
fi
ns=ptka-$$-$RANDOM
tmp=$(mktemp -d)
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"' EXIT
ip netns add "$ns" || exit 1
# Never linked anywhere: keepalived -t only looks for the names.
ip -n "$ns" link add box-network type veth peer name gateway-network || exit 1

ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

for case in inv-nat-pool:gateway-4 inv-nat-pool:gateway-5 nat-pool-snat:gateway-4 \
	nat-pool-snat:gateway-5 nat-pool-sync:gateway-4 nat-pool-sync:gateway-5; do
	fix=${case%%:*} host=${case#*:} conf=$tmp/$fix-$host.conf
	if ! "$PORTIER" --bpffs /sys/fs/bpf/portier keepalived render -i "tests/fixtures/$fix" \
		--host "$host" --output "$conf" 2>"$tmp/err"; then
		bad "$fix $host: render failed: $(cat "$tmp/err")"
		continue
	fi
	if ip netns exec "$ns" keepalived -t -f "$conf" >"$tmp/out" 2>&1; then
		ok "$fix $host: keepalived -t accepts the rendered file"
	else
		bad "$fix $host: keepalived -t refuses it:"
		cat "$tmp/out"
	fi
	# The file says what the inventory says (state, priority, sync group).
	want_state=MASTER want_prio=200
	[ "$host" = gateway-5 ] && want_state=BACKUP want_prio=100
	# With flow sync: every instance starts as BACKUP, with preempt_delay.
	if [ "$fix" = nat-pool-sync ]; then
		want_state=BACKUP
		if grep -q '^    preempt_delay 5$' "$conf" && ! grep -q 'state MASTER' "$conf"; then
			ok "$fix $host: flow sync: state BACKUP and preempt_delay 5"
		else
			bad "$fix $host: flow sync, but no preempt_delay from BACKUP:"
			cat "$conf"
		fi
	fi
	if grep -q "state $want_state" "$conf" && grep -q "priority $want_prio" "$conf" &&
	   grep -q "notify_master \".* vrrp notify master 5 $want_prio\"" "$conf" &&
	   { [ "$fix" = inv-nat-pool ] || grep -q 'vrrp_sync_group portier' "$conf"; }; then
		ok "$fix $host: state $want_state, priority $want_prio, notify scripts"
	else
		bad "$fix $host: the file lacks state $want_state / priority $want_prio:"
		cat "$conf"
	fi
done

# The check can fail: an instance on a NIC the namespace lacks.
sed 's/interface box-network/interface eth9/' "$tmp/inv-nat-pool-gateway-4.conf" >"$tmp/broken.conf"
if ip netns exec "$ns" keepalived -t -f "$tmp/broken.conf" >/dev/null 2>&1; then
	bad "keepalived -t accepts an instance on a missing NIC: the check proves nothing"
else
	ok "keepalived -t refuses an instance on a missing NIC"
fi
# And a render with errors writes nothing.
if "$PORTIER" keepalived render -i tests/fixtures/bad-vips-master --host gw-1 \
	--output "$tmp/none.conf" 2>/dev/null || [ -e "$tmp/none.conf" ]; then
	bad "render of an inventory with errors succeeded or wrote a file"
else
	ok "render of an inventory with errors writes nothing"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
