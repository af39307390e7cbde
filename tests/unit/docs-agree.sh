#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# docs-agree.sh - the help text, the man page and the bash completion name
# the same commands and daemon options (as bpftool's tests check). The
# help is the reference: every "OBJECT COMMAND" of a Usage line and every
# --option of "portier daemon help" must be in docs/portier.8 and in
# tools/portier.bash-completion. Ends with "N passed, N failed".
#   PORTIER_BIN selects the binary (default build/portier).
set -u
cd "$(dirname "$0")/../.."
PORTIER=${PORTIER_BIN:-build/portier}
MAN=docs/portier.8
COMP=tools/portier.bash-completion
passed=0
failed=0

check() {	# check WHAT FILE PATTERN: grep -q -e PATTERN FILE
	if grep -q -e "$3" "$2"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL $1: not in $2 (add it there, or drop it from the help)"
	fi
}

if [ ! -x "$PORTIER" ]; then
	echo "docs-agree: no binary at $PORTIER; run make (or set PORTIER_BIN)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
for obj in config route backend policy stats conntrack prog keepalived vrrp; do
	cmds=$("$PORTIER" "$obj" help 2>&1 |
		sed -n "s/^ *\(Usage:\)\{0,1\} *[^ ]* $obj \([a-z]*\).*/\2/p" | sort -u)
	[ -n "$cmds" ] || { echo "FAIL $obj: no Usage line in '$obj help'"; failed=$((failed + 1)); }
	for c in $cmds; do
		# the man page says once that every object takes help
		[ "$c" = help ] || check "$obj $c" "$MAN" "$obj $c"
		check "$obj $c" "$COMP" "$obj) COMPREPLY=.*\b$c\b"
	done
done
# every keyword of "route add" (a word before a value: VALUE, { ... } or a
# literal such as roundrobin)
kws=$("$PORTIER" route help 2>&1 | sed -n '/route add/,/route del/p' |
	grep -oE '\b[a-z][a-z-]* (\{|[A-Z]|roundrobin)' | cut -d' ' -f1 | grep -vxE 'add|del' | sort -u)
[ -n "$kws" ] || { echo "FAIL route add: no keyword in 'route help'"; failed=$((failed + 1)); }
for k in $kws; do
	check "route add $k" "$MAN" "[[ ]${k//-/\\\\-}[ \"]"
	if grep -A2 'route:add)' "$COMP" | grep -qw -- "$k"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL route add $k: not in the route:add list of $COMP"
	fi
done
# every --option of "keepalived render"
kopts=$("$PORTIER" keepalived help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u)
[ -n "$kopts" ] || { echo "FAIL keepalived: no --option in 'keepalived help'"; failed=$((failed + 1)); }
for o in $kopts; do
	check "keepalived render $o" "$MAN" "${o//-/\\\\-}\\b"
	check "keepalived render $o" "$COMP" "keepalived:render.*$o\\b"
done
opts=$("$PORTIER" daemon help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u)
[ -n "$opts" ] || { echo "FAIL daemon: no --option in 'daemon help'"; failed=$((failed + 1)); }
for o in $opts; do
	check "daemon $o" "$MAN" "${o//-/\\\\-}\\b"
	check "daemon $o" "$COMP" "[[:space:]\"]$o\\b"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
