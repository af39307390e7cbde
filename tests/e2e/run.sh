#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# run.sh - the end-to-end runner: every test_* function of every
# tests/e2e/test_*.sh, each in a subshell with its own topology (set -e, a
# cleanup trap), then "N passed, N failed". Root only.
#   tests/e2e/run.sh [PATTERN]    only tests whose name contains PATTERN
# PORTIER_BIN selects the binary (default build/portier).
set -u
cd "$(dirname "$0")"
. ./lib.sh

filter=${1:-}
passed=0
failed=0
failures=()

if [ "$(id -u)" -ne 0 ]; then
	echo "e2e: needs root (network namespaces, BPF)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
if [ ! -x "$PORTIER" ]; then
	echo "e2e: no binary at $PORTIER; run make (or set PORTIER_BIN)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

# Every file first: a test may use another file's helpers.
for file in test_*.sh; do
	[ -e "$file" ] && . "./$file"
done
for file in test_*.sh; do
	[ -e "$file" ] || continue
	for fn in $(grep -o '^test_[A-Za-z0-9_]*' "$file"); do
		case $fn in *"$filter"*) ;; *) continue ;; esac
		start=$SECONDS
		(
			set -e
			trap e2e_cleanup EXIT
			e2e_init
			"$fn"
		)
		rc=$?
		if [ "$rc" -eq 0 ]; then
			passed=$((passed + 1))
			echo "PASS $fn ($((SECONDS - start))s)"
		else
			failed=$((failed + 1))
			failures+=("$fn")
			echo "FAIL $fn ($((SECONDS - start))s, exit $rc)"
		fi
	done
done
for f in "${failures[@]}"; do
	echo "FAILED: $f"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
