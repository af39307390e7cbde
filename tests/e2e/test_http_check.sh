# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_http_check.sh - HTTP health checks end to end (issue 15, item 7): a
# backend whose port accepts connections but answers the health URI with
# HTTP 503 leaves the rotation of a route checked with type: http, and
# comes back when it answers 200; "backend show" (text and -j) and the
# metrics show the status. The backends are tests/e2e/httpcheck_server in
# the node namespaces (their status read from a file at each request),
# clients are counted with "tests/e2e/client http".

HC_PORT=30088		# the route's port and the backends' (declared here only)
HC_METRICS=9188
HC_CONNS=20		# client connections per round (10 per backend)

# hc_up: gateway-1 runs portier; node-2 and node-3 serve HTTP on HC_PORT,
# both healthy; one route "web" checked with GET /healthz.
hc_up() {
	local o
	topo_up 2 3
	for o in 2 3; do
		echo 200 >"$E2E_TMP/status-$o"
		ip netns exec "${NS_NODES[$((o - 2))]}" "$E2E_DIR/httpcheck_server" "node-$o" \
			"$HC_PORT" "$E2E_TMP/status-$o" "$E2E_TMP/ready-$o" \
			>"$E2E_TMP/http-$o.log" 2>&1 &
		E2E_PIDS+=($!)
		wait_for "http server node-$o" test -e "$E2E_TMP/ready-$o"
	done
	mkdir -p "$E2E_TMP/inv"
	cat >"$E2E_TMP/inv/hosts.yml" <<EOF
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
        web:
          mode: http
          address: "*"
          port: $HC_PORT
          destination:
            group: {name: kube_nodes, port: $HC_PORT}
            balance: roundrobin
            check:
              type: http
              method: GET
              uri: /healthz
              version: HTTP/1.1
              host: web.example.org
              expect_status: 200
              inter: 200ms
              rise: 2
              fall: 2
EOF
	daemon_start "$E2E_TMP/inv" --metrics "127.0.0.1:$HC_METRICS"
}

hc_cli() { ns "$NS_GW" "$PORTIER" --bpffs "$PIN_DIR" "$@"; }

# hc_backend_is ADDR JQ_FILTER: in "backend show web -j", the backend
# ADDR:HC_PORT satisfies the filter.
hc_backend_is() {
	hc_cli backend show web -j | jq -e --arg b "$1:$HC_PORT" \
		".[] | select(.backend == \$b) | $2" >/dev/null
}

# hc_metric LINE: the daemon's /metrics has this exact line.
hc_metric() {
	ns "$NS_GW" curl -s -m 3 "http://127.0.0.1:$HC_METRICS/metrics" | grep -qxF -- "$1"
}

# hc_log TEXT: the daemon logged TEXT.
hc_log() { grep -qsF -- "$1" "$DAEMON_LOG"; }

test_http_check_503_leaves_and_returns() {
	local out be be2=$GW_NET.2 be3=$GW_NET.3
	hc_up
	# Both pass the HTTP check: status 200 read, status line shown.
	for be in "$be2" "$be3"; do
		wait_for "$be checked with 200" hc_backend_is "$be" \
			'.state == "up" and .check.type == "http" and .check.result == "ok" and
			 .check.http_status == 200 and .check.status_line == "HTTP/1.0 200 OK"'
	done
	hc_cli route show web -j | jq -e '.[0].check | .type == "http" and
		.method == "GET" and .uri == "/healthz" and .version == "HTTP/1.1" and
		.host == "web.example.org" and .expect_status == "200-200"' >/dev/null
	# The checks sent the route's request.
	grep -q '"GET /healthz HTTP/1.1" 200' "$E2E_TMP/http-2.log"
	out=$(client_run http "$HC_PORT" "$HC_CONNS")
	expect_out "both healthy" "$out" "$(printf '%s 10\n' node-2 node-3)"

	# node-2's service breaks; its port still accepts connections.
	echo 503 >"$E2E_TMP/status-2"
	wait_for "node-2 down" hc_log "backend $be2:$HC_PORT UP -> DOWN after 2 failed checks (last: HTTP/1.0 503 Service Unavailable)"
	hc_backend_is "$be2" '.state == "down" and .check.result == "bad status" and
		.check.http_status == 503 and
		.check.status_line == "HTTP/1.0 503 Service Unavailable"'
	hc_backend_is "$be3" '.state == "up" and .check.http_status == 200'
	hc_cli backend show web | grep -qF "bad status (HTTP/1.0 503 Service Unavailable)"
	wait_for "the 503 in the metrics" hc_metric \
		"portier_backend_check_http_status{route=\"web\",backend=\"$be2:$HC_PORT\"} 503"
	hc_metric "portier_backend_up{route=\"web\",backend=\"$be2:$HC_PORT\"} 0"
	out=$(client_run http "$HC_PORT" "$HC_CONNS")
	expect_out "node-2 answering 503" "$out" "node-3 $HC_CONNS"

	# It answers 200 again: back after rise (2) checks.
	echo 200 >"$E2E_TMP/status-2"
	wait_for "node-2 up" hc_log "backend $be2:$HC_PORT DOWN -> UP after 2 successful checks"
	hc_backend_is "$be2" '.state == "up" and .check.http_status == 200'
	hc_metric "portier_backend_check_http_status{route=\"web\",backend=\"$be2:$HC_PORT\"} 200"
	out=$(client_run http "$HC_PORT" "$HC_CONNS")
	expect_out "node-2 back" "$out" "$(printf '%s 10\n' node-2 node-3)"
}

# A runtime route takes the same check: "route add ... check-type http"
# shows it in route show, the daemon checks it with HTTP (node-2 answers
# 503: down; node-3 200: up), and HTTP keywords without check-type http
# are refused.
test_http_check_runtime_route() {
	local port=$((HC_PORT + 1)) be2=$GW_NET.2 be3=$GW_NET.3
	hc_up
	echo 503 >"$E2E_TMP/status-2"
	if hc_cli route add web2 port "$port" check-uri /healthz \
		backend "$be2:$HC_PORT" 2>"$E2E_TMP/err"; then
		e2e_log "check-uri without check-type http accepted"; return 1
	fi
	grep -q "add 'check-type http'" "$E2E_TMP/err"
	hc_cli route add web2 port "$port" inter 200ms rise 2 fall 2 check-type http \
		check-method HEAD check-uri /healthz check-expect 200-204 \
		backend "$be2:$HC_PORT" backend "$be3:$HC_PORT"
	hc_cli route show web2 -j | jq -e '.[0].check | .type == "http" and
		.method == "HEAD" and .uri == "/healthz" and .version == "HTTP/1.0" and
		.host == "" and .expect_status == "200-204"' >/dev/null
	hc_cli route show web2 | grep -qF "check http HEAD /healthz HTTP/1.0 expect 200-204"
	# The daemon checks a runtime route from its next tick (5 s).
	WAIT_STEPS=150 wait_for "node-2 down in web2" hc_log \
		"route web2 backend $be2:$HC_PORT UP -> DOWN"
	hc_cli backend show web2 -j | jq -e --arg b2 "$be2:$HC_PORT" --arg b3 "$be3:$HC_PORT" '
		(.[] | select(.backend == $b2) | .state == "down" and .check.http_status == 503)
		and (.[] | select(.backend == $b3) | .state == "up" and
		     .check.type == "http" and .check.http_status == 200)' >/dev/null
	grep -q '"HEAD /healthz HTTP/1.0" 503' "$E2E_TMP/http-2.log"
	out=$(client_run http "$port" 10)
	expect_out "web2 with node-2 at 503" "$out" "node-3 10"
}
