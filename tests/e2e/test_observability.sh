# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_observability.sh - health checks and metrics end to end (issue 5):
# a node whose server dies leaves the rotation within the bound and no
# client connection fails after that, and it comes back after `rise`
# checks; every backend of a route down drops new connections as
# documented; a real Prometheus (Debian's package, on loopback inside the
# gateway namespace) scrapes the daemon with no error and its API returns
# per-backend connection counts equal to the connections made.

OBS_INTER=200ms		# check interval in these tests
OBS_CONNS=30		# connections per round (10 per backend)
METRICS_PORT=9187
PROM_PORT=9190

# obs_up: the seed topology, routes checked every OBS_INTER (rise 2, fall 2).
obs_up() {
	topo_up 2 3
	servers_up gateway-1 gateway-2 gateway-3
	inv_seed "$E2E_TMP/inv"
	sed -i "s/^        balance: roundrobin$/&\n        check: {inter: $OBS_INTER, rise: 2, fall: 2}/" \
		"$E2E_TMP/inv/group_vars/kube_gateway_pool.yml"
	daemon_start "$E2E_TMP/inv" "$@"
}

log_has() { local n; n=$(grep -cs -- "$1" "$DAEMON_LOG"); [ "${n:-0}" -ge "$2" ]; }

# no_errors OUT NAME: the client's lines have no ERROR and no NAME.
no_errors_without() {
	if grep -q ERROR <<<"$1" || grep -q "^$2 " <<<"$1"; then
		e2e_log "unexpected: [$(echo $1)]"
		return 1
	fi
	e2e_log "ok: [$(echo $1)]"
}

test_health_down_and_back() {
	local port=${SEED_PORTS[0]} out
	obs_up
	# gateway-2's server is the second one started (servers_up order).
	kill "${E2E_PIDS[1]}"
	wait "${E2E_PIDS[1]}" 2>/dev/null || true
	wait_for "gateway-2 down" log_has "backend $GW_NET.2:$port UP -> DOWN" 1
	out=$(client_run tcp "$port" "$OBS_CONNS")
	no_errors_without "$out" gateway-2
	server_start "${NS_NODES[0]}" gateway-2
	wait_for "gateway-2 up" log_has "backend $GW_NET.2:$port DOWN -> UP after 2 successful" 1
	out=$(client_run tcp "$port" "$OBS_CONNS")
	expect_out "port $port" "$out" "$(printf '%s 10\n' gateway-1 gateway-2 gateway-3)"
}

test_all_backends_down() {
	local port=${SEED_PORTS[0]} out p drops
	obs_up --metrics "127.0.0.1:$METRICS_PORT"
	for p in "${E2E_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	E2E_PIDS=()
	wait_for "the loud line" log_has "route arogcd: ALL 3 backends DOWN" 1
	out=$(client_run tcp "$port" 3)
	expect_out "port $port, all down" "$out" "ERROR 3"
	# Dropped and counted as no_backend (each SYN and its retransmits).
	drops=$(ns "$NS_GW" curl -s -m 3 "http://127.0.0.1:$METRICS_PORT/metrics" |
		sed -n 's/^portier_drops_total{reason="no_backend"} //p')
	[ "${drops:-0}" -ge 3 ] || { e2e_log "no_backend drops: '$drops', want >= 3"; return 1; }
	e2e_log "no_backend drops: $drops"
}

prom_query() {
	ns "$NS_GW" curl -s -m 3 --data-urlencode "query=$1" \
		"http://127.0.0.1:$PROM_PORT/api/v1/query"
}

# prom_counts_equal WANT: Prometheus returns WANT for pgadmin4's per-backend
# connection counts ("backend value" lines, sorted).
prom_counts_equal() {
	local got
	got=$(prom_query 'portier_backend_connections_total{route="pgadmin4"}' | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
for s in sorted(r, key=lambda s: s["metric"]["backend"]):
    print(s["metric"]["backend"], s["value"][1])' 2>/dev/null)
	[ "$got" = "$1" ]
}

prom_target_up() {
	prom_query 'up{job="portier"}' | grep -q '"value":\[[0-9.]*,"1"\]'
}

test_prometheus_scrape() {
	local port=${SEED_PORTS[1]} out want
	command -v prometheus >/dev/null || { e2e_log "no prometheus (tools/deps.sh)"; return 1; }
	obs_up --metrics "127.0.0.1:$METRICS_PORT"
	ns "$NS_GW" curl -s -m 3 "http://127.0.0.1:$METRICS_PORT/metrics" >"$E2E_TMP/metrics.txt"
	promtool check metrics <"$E2E_TMP/metrics.txt"
	out=$(client_run tcp "$port" "$OBS_CONNS")
	expect_out "port $port" "$out" "$(printf '%s 10\n' gateway-1 gateway-2 gateway-3)"
	cat >"$E2E_TMP/prometheus.yml" <<EOF
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: portier
    static_configs: [{targets: ['127.0.0.1:$METRICS_PORT']}]
EOF
	ip netns exec "$NS_GW" timeout 120 prometheus --config.file="$E2E_TMP/prometheus.yml" \
		--storage.tsdb.path="$E2E_TMP/prom" --web.listen-address="127.0.0.1:$PROM_PORT" \
		>"$E2E_TMP/prometheus.log" 2>&1 &
	E2E_PIDS+=($!)
	wait_for "prometheus scraping portier" prom_target_up
	want=$(printf '%s 10\n' "$GW_NET.1:$port" "$GW_NET.2:$port" "$GW_NET.3:$port")
	wait_for "per-backend counts in prometheus" prom_counts_equal "$want"
	if ns "$NS_GW" curl -s -m 3 "http://127.0.0.1:$PROM_PORT/api/v1/targets" |
		grep -q '"lastError":"[^"]'; then
		e2e_log "prometheus reports a scrape error"
		return 1
	fi
}
