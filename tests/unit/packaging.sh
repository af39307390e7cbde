#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# packaging.sh - the static checks of the systemd unit, /etc/default/portier
# and the Ansible role (no root, nothing installed): systemd-analyze verify
# of the unit as make install writes it, every option of its command lines
# known to the binary, the unit's defaults and the environment file naming
# the same variables, the role's template writing them, ansible-lint
# (production profile) and ansible-playbook --syntax-check on the seed.
# tests/e2e/test_package.sh runs the package, unit and role for real.
# Ends with "N passed, N failed".   PORTIER_BIN: the binary (build/portier).
set -u
cd "$(dirname "$0")/../.."
PORTIER=${PORTIER_BIN:-$PWD/build/portier}
UNIT_IN=deploy/systemd/portier.service.in
DEFAULT=deploy/systemd/portier.default
ROLE=deploy/ansible/roles/portier
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

if [ ! -x "$PORTIER" ]; then
	echo "packaging: no binary at $PORTIER; run make (or set PORTIER_BIN)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

# The unit as make install writes it, pointing at this binary.
sed "s|@SBINDIR@|$(dirname "$PORTIER")|g" "$UNIT_IN" >"$tmp/portier.service"
if out=$(systemd-analyze verify --man=no "$tmp/portier.service" 2>&1) && [ -z "$out" ]; then
	ok
else
	fail "systemd-analyze verify $UNIT_IN: $out"
fi

# Every --option of ExecStart is one "portier daemon" knows; ExecReload is
# "portier reload" (SIGHUP, waits for the answer).
help=$("$PORTIER" daemon help 2>&1)
for o in $(sed -n 's/^ExecStart=//p' "$UNIT_IN" | grep -o -- '-[-a-z]*'); do
	if grep -q -- "\(^\|[ [,]\)$o\b" <<<"$help"; then ok; else fail "ExecStart option $o: not in 'portier daemon help'"; fi
done
if grep -q '^ExecStart=@SBINDIR@/portier daemon --keep ' "$UNIT_IN"; then ok; else
	fail "ExecStart must run 'portier daemon --keep' (restart and upgrade keep flows)"; fi
if grep -q '^ExecReload=@SBINDIR@/portier --bpffs ${PORTIER_BPFFS} reload$' "$UNIT_IN"; then ok; else
	fail "ExecReload must be 'portier --bpffs \${PORTIER_BPFFS} reload'"; fi

# The unit's Environment= defaults, the shipped environment file and the
# role's template set the same variables.
unit_vars=$(sed -n 's/^Environment=\([A-Z_]*\)=.*/\1/p' "$UNIT_IN" | sort)
used=$(sed -n 's/^Exec[A-Za-z]*=//p' "$UNIT_IN" | grep -o 'PORTIER_[A-Z_]*' | sort -u)
file_vars=$(sed -n 's/^\([A-Z_]*\)=.*/\1/p' "$DEFAULT" | sort)
tmpl_vars=$(sed -n 's/^\([A-Z_]*\)=.*/\1/p' "$ROLE/templates/portier.default.j2" | sort)
[ "$unit_vars" = "$used" ] && ok || fail "the unit's Environment= ($unit_vars) and its command lines ($used) differ"
[ "$unit_vars" = "$file_vars" ] && ok || fail "$DEFAULT sets $file_vars, the unit $unit_vars"
[ "$unit_vars" = "$tmpl_vars" ] && ok || fail "the role's template sets $tmpl_vars, the unit $unit_vars"

# The role: ansible-lint, and the playbook's syntax on the seed.
if out=$(cd deploy/ansible && ANSIBLE_HOME=$tmp/ansible ansible-lint --offline --nocolor \
	site.yml roles/portier 2>&1); then
	ok
else
	fail "ansible-lint deploy/ansible: $out"
fi
if out=$(ANSIBLE_HOME=$tmp/ansible ansible-playbook --syntax-check -i tests/fixtures/seed \
	deploy/ansible/site.yml 2>&1); then
	ok
else
	fail "ansible-playbook --syntax-check deploy/ansible/site.yml: $out"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
