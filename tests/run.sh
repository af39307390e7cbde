#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# run.sh - the whole test suite: unit tests, BPF program tests (root), and
# end-to-end tests in network namespaces (root). Prints each binary's result
# and ends with the line "N passed, N failed".
#   tests/run.sh [unit|prog|e2e ...]      (default: all three)
# BUILD selects the build directory (default: build).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export PORTIER_BIN=${PORTIER_BIN:-$PWD/$BUILD/portier}
levels=("$@")
[ ${#levels[@]} -eq 0 ] && levels=(unit prog e2e)

passed=0
failed=0
failures=()

# A cmocka binary: add its "[  PASSED  ] N" and "[  FAILED  ] N" counts; a
# binary that dies without a summary counts as one failure.
run_cmocka() {
	local bin=$1 out rc p f
	out=$(mktemp)
	"$bin" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$out" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' "$out" | tail -1)
	rm -f "$out"
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
		failed=$((failed + 1))
		failures+=("$(basename "$bin") (exit $rc)")
	elif [ -n "$f" ] && [ "$f" -gt 0 ]; then
		failures+=("$(basename "$bin")")
	fi
}

# A shell suite that ends with "N passed, N failed".
run_suite() {
	local script=$1 out rc line p f
	out=$(mktemp)
	"$script" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
	rm -f "$out"
	p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
		failed=$((failed + 1))
		failures+=("$script (exit $rc)")
	elif [ "${f:-0}" -gt 0 ]; then
		failures+=("$script")
	fi
}

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "run.sh: $1 tests need root (BPF, network namespaces); run as root" >&2
		failed=$((failed + 1))
		failures+=("$1 (not root)")
		return 1
	fi
}

for level in "${levels[@]}"; do
	echo "=== $level tests"
	case $level in
	unit)
		for src in tests/unit/test_*.c; do
			[ -e "$src" ] || continue
			run_cmocka "$BUILD/tests/$(basename "$src" .c)"
		done
		# the inventory fixtures against real Ansible, the reference
		run_suite tests/unit/ansible-reference.sh
		# help, man page and bash completion name the same commands
		run_suite tests/unit/docs-agree.sh
		# the systemd unit, /etc/default/portier, the Ansible role
		run_suite tests/unit/packaging.sh
		# keepalived.conf as rendered, checked by keepalived -t (root)
		run_suite tests/unit/keepalived-render.sh
		;;
	prog)
		need_root prog || continue
		for src in tests/prog/test_*.c; do
			[ -e "$src" ] || continue
			run_cmocka "$BUILD/tests/$(basename "$src" .c)"
		done
		;;
	e2e)
		need_root e2e || continue
		[ -x tests/e2e/run.sh ] && run_suite tests/e2e/run.sh
		;;
	*)
		echo "run.sh: unknown level '$level' (unit, prog, e2e)" >&2
		exit 2
		;;
	esac
done

echo
for f in "${failures[@]}"; do
	echo "FAILED: $f"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
