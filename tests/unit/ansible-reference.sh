#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# ansible-reference.sh - check the inventory fixtures' expectations against
# real Ansible. For every tests/fixtures/inv-expected/NAME.json (what
# test_inventory compares pt_host_vars and group membership with), runs
# `ansible-inventory -i tests/fixtures/inv-NAME --list` (or tests/fixtures/NAME
# when there is no inv-NAME: a route fixture such as ipv6-dual) and diffs
# the two.
#   tests/unit/ansible-reference.sh            check; ends "N passed, N failed"
#   tests/unit/ansible-reference.sh --update   rewrite the .json files from Ansible
# Without ansible-inventory it says so and checks nothing (exit 0).
set -u
cd "$(dirname "$0")/../.."

if ! command -v ansible-inventory >/dev/null 2>&1; then
	echo "ansible-reference: ansible-inventory not found (Debian: ansible-core); skipped"
	exit 0
fi

update=0
[ "${1:-}" = "--update" ] && update=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# No ansible.cfg from the environment or the current directory.
: >"$tmp/ansible.cfg"
export ANSIBLE_CONFIG=$tmp/ansible.cfg ANSIBLE_LOCAL_TEMP=$tmp ANSIBLE_NOCOLOR=1

passed=0
failed=0
for exp in tests/fixtures/inv-expected/*.json; do
	[ -e "$exp" ] || continue
	name=$(basename "$exp" .json)
	src=tests/fixtures/inv-$name
	[ -e "$src" ] || src=tests/fixtures/$name
	if ! ansible-inventory -i "$src" --list >"$tmp/raw.json" 2>"$tmp/err"; then
		echo "FAIL $name: ansible-inventory failed:"
		cat "$tmp/err"
		failed=$((failed + 1))
		continue
	fi
	python3 -m json.tool --sort-keys "$tmp/raw.json" >"$tmp/got.json"
	if [ "$update" -eq 1 ]; then
		cp "$tmp/got.json" "$exp"
		echo "updated $exp"
		passed=$((passed + 1))
	elif diff -u "$exp" "$tmp/got.json"; then
		echo "ok   $name: ansible-inventory agrees with $exp"
		passed=$((passed + 1))
	else
		echo "FAIL $name: ansible-inventory differs from $exp (diff above)"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
