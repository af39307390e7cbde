#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# run.sh - run libFuzzer targets for a bounded time each.
#   tests/fuzz/run.sh SECONDS BIN...
# Each BIN gets a corpus BUILD/fuzz/corpus-<name> (kept between runs, seeded
# from tests/fixtures/**/*.yml) and tests/fuzz/<name>.dict if it exists.
# Crash inputs are written as BUILD/fuzz/crash-<name>-*. Exits non-zero if any
# target crashed (or failed to run).
set -u
cd "$(dirname "$0")/../.."

if [ $# -lt 2 ]; then
	echo "usage: $0 SECONDS BIN..." >&2
	exit 2
fi
secs=$1
shift
case $secs in
'' | *[!0-9]*)
	echo "run.sh: SECONDS must be a number, got '$secs'" >&2
	exit 2
	;;
esac

failed=()
for bin in "$@"; do
	name=$(basename "$bin")
	dir=$(dirname "$bin")
	corpus=$dir/corpus-$name
	log=$dir/$name.log
	mkdir -p "$corpus"
	if [ "$name" = fuzz_xdp ]; then
		# Seed: each of the harness's seed frames, unchanged (one byte:
		# its number, shifted left; tests/lib/xdpfuzz.h), IPv6 ones
		# (tests/lib/xdpfuzz6.c) included: all 128 a byte can name.
		for i in $(seq 0 127); do
			printf "\\x$(printf %02x $((i * 2)))" >"$corpus/seed-frame-$i"
		done
	else
		# Seed: every fixture file, named after its path so none
		# overwrites another.
		while IFS= read -r f; do
			cp "$f" "$corpus/seed-$(echo "${f#tests/fixtures/}" | tr / _)"
		done < <(find tests/fixtures -name '*.yml' -type f | sort)
	fi
	dict=()
	[ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
	echo "fuzz: $name for ${secs}s, corpus $corpus ($(ls "$corpus" | wc -l) inputs)"
	# -timeout: one input taking this long is a hang, reported as a failure.
	"$bin" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$dir/crash-$name-" "${dict[@]}" "$corpus" >"$log" 2>&1
	rc=$?
	grep -E '^#[0-9]+.*(DONE|INITED)|stat::number_of_executed_units|stat::peak_rss_mb' "$log"
	grep -E 'cov: [0-9]+' "$log" | tail -1
	if [ $rc -ne 0 ]; then
		echo "fuzz: $name FAILED (exit $rc); see $log" >&2
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" >&2
		failed+=("$name")
	else
		echo "fuzz: $name ok"
	fi
done
[ ${#failed[@]} -eq 0 ]
