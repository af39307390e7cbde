#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# demo.sh - "make demo": the seed's gateway pool in network namespaces. A
# client on the box network, this gateway (gateway-1, 203.0.113.1) running
# portier with the seed's six routes, and two nodes (gateway-2, gateway-3)
# serving every NodePort. Real connections go from the client to each route;
# the demo prints where they landed, then cleans everything up. Root only.
#   tools/demo.sh [CONNECTIONS_PER_ROUTE]     (default 30)
set -u
cd "$(dirname "$0")/.."
. tests/e2e/lib.sh

CONNS=${1:-30}

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (network namespaces, XDP); run 'sudo make demo'" >&2
	exit 1
fi
if [ ! -x "$PORTIER" ]; then
	echo "demo: no binary at $PORTIER; run 'make' first" >&2
	exit 1
fi

trap e2e_cleanup EXIT
trap 'exit 130' INT TERM
e2e_init || exit 1
echo "== topology: client $CLIENT_ADDR -> gateway-1 ($GW_IN_ADDR | $GW_OUT_ADDR)" \
	"-> gateway-2 $GW_NET.2, gateway-3 $GW_NET.3"
topo_up 2 3 || exit 1
servers_up gateway-1 gateway-2 gateway-3 || exit 1
# The seed's inventory as the operators write it (tests/fixtures/seed: six
# routes, gateway-1..3 at 203.0.113.1..3, app.v-admin.port verbatim).
INV=tests/fixtures/seed
echo "== inventory: $INV (the seed's six routes)"
ns "$NS_GW" "$PORTIER" config check -i "$INV" --host gateway-1 || exit 1
echo "== portier daemon on gateway-1 (input in0, output out0)"
daemon_start "$INV" || exit 1
sed 's/^/   /' "$DAEMON_LOG"

echo "== $CONNS TCP connections from the client to each route"
"$PORTIER" -j config check -i "$INV" --host gateway-1 2>/dev/null |
	jq -r '.routes[] | "\(.name) \(.port)"' >"$E2E_TMP/routes"
while read -r route port; do
	printf '%-10s %s:%s\n' "$route" "$GW_IN_ADDR" "$port"
	client_run tcp "$port" "$CONNS" | while read -r name count; do
		printf '    -> %-10s %4s\n' "$name" "$count"
	done
done <"$E2E_TMP/routes"
if ns "$NS_GW" "$PORTIER" --bpffs "$PIN_DIR" stats show >/dev/null 2>&1; then
	echo "== portier stats show"
	ns "$NS_GW" "$PORTIER" --bpffs "$PIN_DIR" stats show
fi
echo "== connection logs (tcplog lines in the daemon's log; the last 3 of $(grep -c ' end=' "$DAEMON_LOG"))"
grep ' end=' "$DAEMON_LOG" | tail -3 | sed 's/^/   /'
echo "== stopping (clean stop: detach, unpin, delete the namespaces)"
