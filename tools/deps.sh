#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# deps.sh - the one list of Debian packages portier needs to build, test and
# benchmark; installs what is missing (root), does nothing if all are there.
#   tools/deps.sh          install what is missing
#   tools/deps.sh --list   print the list
set -euo pipefail

PKGS=(
	# build
	make gcc clang llvm pkg-config bpftool
	libbpf-dev libelf-dev zlib1g-dev libyaml-dev libjansson-dev libmicrohttpd-dev
	# tests: unit framework, fuzzing runtime, namespaces and traffic
	libcmocka-dev libclang-rt-14-dev iproute2 ethtool socat procps
	# CLI contract tests (tests/e2e/test_cli.sh parse -j output); man -l
	jq man-db curl
	# the slow raw-socket clients of the SYN flood test
	python3-scapy
	# metrics: promtool (check metrics) and a real Prometheus for e2e scrapes
	prometheus
	# make bench: the alternatives (HAProxy, nftables with conntrack), real
	# servers and the HTTP load generator
	nftables conntrack haproxy nginx-light wrk
	# the reference for inventory semantics; the role in deploy/ansible
	# (ansible-lint; python3-apt for its apt module)
	ansible-core ansible-lint python3-apt
	# the BGP announcement e2e (tests/e2e/test_bgp.sh): the routing daemon
	# of the gateway and of the router
	bird2
	# the nat pool: VRRP and the kernel flow-sync reference
	keepalived conntrackd
	# make deb and its checks; the unit's checks (systemd-analyze verify)
	# and its capability bounding set applied without systemd (setpriv)
	debhelper lintian dpkg-dev systemd util-linux
)

if [ "${1:-}" = "--list" ]; then
	printf '%s\n' "${PKGS[@]}"
	exit 0
fi

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run 'make deps' as root" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
