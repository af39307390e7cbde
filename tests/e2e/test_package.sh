# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# test_package.sh - the Debian package, the systemd unit and the Ansible role
# end to end (issue 15): make deb builds two versions (lintian: no error);
# deploy/ansible/site.yml runs for real with ansible-playbook inside the
# gateway namespace as the managed host (ansible_connection: local),
# installs the first package on this machine and ships the inventory; a
# second run changes nothing; a route added to the inventory and a third run
# is forwarded by the same daemon (the role's handler: portier reload,
# SIGHUP); each capability of the unit's bounding set is needed; installing the newer package under a held connection, then the
# unit's restart, keeps it; purging removes the package and detaches.
#
# systemd does not run as PID 1 here (and the test may not touch the
# machine's services): the test starts the unit's exact ExecStart line, read
# from the installed unit file with its Environment= defaults and
# /etc/default/portier (as the role wrote it), under the unit's
# CapabilityBoundingSet and NoNewPrivileges (setpriv); a "systemctl restart"
# is done as systemd does it: KillSignal (SIGTERM), then ExecStart. The role
# runs with portier_systemd=false (its reload handler then runs the unit's
# ExecReload command, portier reload). ProtectSystem= and the other
# namespace options are checked by systemd-analyze verify only.
#
# The package is installed in this machine's root file system with dpkg
# (CI's machine is disposable); the test refuses to run where portier is
# already installed, and purges it at the end, on failure too. About 90 s.

PKG_HOLD_ROUNDS=240	# held connection: rounds (bounded by PKG_HOLD_TIMEOUT)
PKG_HOLD_INTERVAL=0.25
PKG_HOLD_TIMEOUT=90
PKG_UNIT=/lib/systemd/system/portier.service

# pkg_cleanup: stop the daemon, purge the package (its prerm detaches the
# data plane), leave no file behind. From the trap: on failure too.
pkg_cleanup() {
	daemon_stop TERM
	if [ "${PKG_INSTALLED:-0}" = 1 ] &&
		dpkg-query -W -f='${Status}' portier 2>/dev/null | grep -q installed; then
		dpkg --purge portier >>"$E2E_TMP/dpkg.log" 2>&1 ||
			e2e_log "dpkg --purge portier failed: $(tail -3 "$E2E_TMP/dpkg.log")"
	fi
	PKG_INSTALLED=0
	e2e_cleanup
}

# pkg_build VERSION: make deb into $E2E_TMP/build-VERSION; prints the .deb.
pkg_build() {
	local b=$E2E_TMP/build-$1
	make -C "$ROOT_DIR" --no-print-directory deb BUILD="$b" DEB_VERSION="$1" >"$E2E_TMP/deb-$1.log" 2>&1 ||
		{ e2e_log "make deb failed: $(tail -20 "$E2E_TMP/deb-$1.log")"; return 1; }
	ls "$b/deb/portier_$1_"*.deb
}

# pkg_playbook: deploy/ansible/site.yml on gateway-1, in the gateway
# namespace; the recap line goes to $E2E_TMP/recap.
pkg_playbook() {
	local log=$E2E_TMP/ansible-$((++PKG_RUNS)).log
	(cd "$E2E_TMP" && ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP=$E2E_TMP/ansible-tmp \
		ANSIBLE_REMOTE_TEMP=$E2E_TMP/ansible-tmp ANSIBLE_HOME=$E2E_TMP/ansible-home \
		timeout 300 ip netns exec "$NS_GW" ansible-playbook -i "$E2E_TMP/inv" \
		"$ROOT_DIR/deploy/ansible/site.yml" --limit gateway-1 -e "@$E2E_TMP/vars.yml" "$@") \
		>"$log" 2>&1 || { e2e_log "ansible-playbook failed: $(tail -30 "$log")"; return 1; }
	grep -E '^gateway-1 +:' "$log" >"$E2E_TMP/recap"
	e2e_log "playbook run $PKG_RUNS: $(cat "$E2E_TMP/recap")"
}

# pkg_changed: the last run's changed count.
pkg_changed() { sed -n 's/.* changed=\([0-9]*\).*/\1/p' "$E2E_TMP/recap"; }

# unit_exec KEY: the unit's KEY= command line as systemd expands it:
# Environment= defaults, then /etc/default/portier; ${VAR} is one word,
# $VAR splits on white space. One word per line.
unit_exec() (
	set -e
	local line w name
	line=$(sed -n "s/^$1=//p" "$PKG_UNIT")
	eval "$(sed -n 's/^Environment=\([A-Z_]*\)=\(.*\)$/export \1="\2"/p' "$PKG_UNIT")"
	set -a
	. /etc/default/portier
	set +a
	for w in $line; do
		case $w in
		'${'*'}') name=${w#??}; name=${name%?}; printf '%s\n' "${!name}" ;;
		'$'*) name=${w#?}; for v in ${!name}; do printf '%s\n' "$v"; done ;;
		*'$'*) echo "unit_exec: cannot expand '$w'" >&2; exit 1 ;;
		*) printf '%s\n' "$w" ;;
		esac
	done
)

# unit_post: the unit's ExecStartPost (/bin/sh -c '...', $$ for $) with
# MAINPID and the unit's environment, as systemd runs it after ExecStart:
# "systemctl start" returns when it does.
unit_post() (
	set -e
	local script
	script=$(sed -n "s/^ExecStartPost=\/bin\/sh -c '\(.*\)'$/\1/p" "$PKG_UNIT")
	[ -n "$script" ] || { echo "unit_post: no ExecStartPost=/bin/sh -c '...' in $PKG_UNIT" >&2; exit 1; }
	eval "$(sed -n 's/^Environment=\([A-Z_]*\)=\(.*\)$/export \1="\2"/p' "$PKG_UNIT")"
	set -a
	. /etc/default/portier
	set +a
	MAINPID=$1 ip netns exec "$NS_GW" /bin/sh -c "${script//\$\$/\$}"
)

# unit_start: the unit's ExecStart in the gateway namespace, under its
# capability bounding set and NoNewPrivileges, as DAEMON_PID/DAEMON_LOG
# (lib.sh's daemon_stop and cleanup stop it), then its ExecStartPost.
unit_start() {
	local caps=-all c argv=() nnp=()
	for c in $(sed -n 's/^CapabilityBoundingSet=//p' "$PKG_UNIT"); do
		c=${c#CAP_}
		caps+=",+${c,,}"
	done
	grep -q '^NoNewPrivileges=yes' "$PKG_UNIT" && nnp=(--no-new-privs)
	mapfile -t argv < <(unit_exec ExecStart)
	[ "${argv[0]}" = /usr/sbin/portier ] || { e2e_log "ExecStart: ${argv[*]}"; return 1; }
	DAEMON_LOG=$E2E_TMP/daemon.log
	e2e_log "ExecStart (bounding set $caps): ${argv[*]}"
	ip netns exec "$NS_GW" setpriv --bounding-set "$caps" "${nnp[@]}" -- "${argv[@]}" \
		>>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	if ! unit_post "$DAEMON_PID" || ! daemon_running; then
		e2e_log "the unit did not start; the daemon's log: $(cat "$DAEMON_LOG")"
		return 1
	fi
}

# pkg_caps_needed: each capability of the unit's bounding set is needed:
# ExecStart with the others only fails, with a permission error.
pkg_caps_needed() {
	local all c o caps argv=() rc log
	all=$(sed -n 's/^CapabilityBoundingSet=//p' "$PKG_UNIT")
	mapfile -t argv < <(unit_exec ExecStart)
	for c in $all; do
		caps=-all
		for o in $all; do
			[ "$o" = "$c" ] || { o=${o#CAP_}; caps+=",+${o,,}"; }
		done
		log=$E2E_TMP/without-$c.log
		rc=0
		ip netns exec "$NS_GW" timeout 20 setpriv --bounding-set "$caps" --no-new-privs -- \
			"${argv[@]}" >"$log" 2>&1 || rc=$?
		if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ] || grep -q 'running:' "$log"; then
			e2e_log "the daemon runs without $c: drop it from CapabilityBoundingSet"
			return 1
		fi
		grep -qiE 'not permitted|permission denied' "$log" ||
			{ e2e_log "without $c the daemon failed otherwise: $(cat "$log")"; return 1; }
		e2e_log "without $c: $(grep -iE -m1 'not permitted|permission denied' "$log")"
	done
}

# pkg_forwards PORT NAMES_RE: 6 connections to PORT, every one answered by
# a name matching NAMES_RE.
pkg_forwards() {
	local out
	out=$(client_run tcp "$1" 6)
	if grep -q ERROR <<<"$out" || grep -vqE "^($2) " <<<"$out" ||
		[ "$(awk '{s += $2} END {print s}' <<<"$out")" != 6 ]; then
		e2e_log "port $1: $(tr '\n' ' ' <<<"$out")"
		return 1
	fi
}

test_package_role_unit_upgrade() {
	local v1 v2 deb1 deb2 p pid log_at hold=$E2E_TMP/hold.out hold_pid n_before n_after
	if dpkg-query -W -f='${Status}' portier 2>/dev/null | grep -q installed ||
		[ -e /etc/default/portier ]; then
		e2e_log "portier is installed on this machine (or /etc/default/portier exists): this test installs and purges its own package; run it on a machine without it"
		return 1
	fi
	PKG_INSTALLED=0
	PKG_RUNS=0
	trap pkg_cleanup EXIT

	v1=$(cd "$ROOT_DIR" && tools/deb-version.sh)
	v2=$v1.1
	dpkg --compare-versions "$v2" gt "$v1"
	deb1=$(pkg_build "$v1")
	deb2=$(pkg_build "$v2")
	if lintian "$deb1" 2>&1 | grep '^E:'; then
		e2e_log "lintian reports errors on $deb1"
		return 1
	fi

	topo_up 2 3 4
	servers_up gateway-1 node-2 node-3 node-4
	inv_remote "$E2E_TMP/inv"
	cat >"$E2E_TMP/vars.yml" <<EOV
ansible_connection: local
ansible_python_interpreter: /usr/bin/python3
ansible_become: false
portier_systemd: false
portier_deb: $deb1
portier_deb_dir: $E2E_TMP/debcache
portier_inventory_dir: $E2E_TMP/etc-inventory
portier_input: in0
portier_output: out0
portier_bpffs: $PIN_DIR
EOV

	# First run: installs, ships, configures; the unit then starts.
	PKG_INSTALLED=1
	pkg_playbook
	[ "$(pkg_changed)" -gt 0 ]
	dpkg --compare-versions "$(dpkg-query -W -f='${Version}' portier)" eq "$v1"
	[ -f "$E2E_TMP/etc-inventory/group_vars/kube_gateway_pool.yml" ]
	systemd-analyze verify "$PKG_UNIT" ||
		{ e2e_log "systemd-analyze verify $PKG_UNIT failed"; return 1; }
	pkg_caps_needed
	unit_start
	for p in "${SEED_PORTS[@]}"; do
		pkg_forwards "$p" 'node-2|node-3|node-4'
	done
	pid=$DAEMON_PID

	# Second run: nothing to change.
	pkg_playbook
	[ "$(pkg_changed)" -eq 0 ] || { e2e_log "the second run changed things"; return 1; }

	# A route added to the inventory: forwarded after the third run, by the
	# same daemon (reloaded, not restarted).
	client_run tcp "$UNDECLARED_PORT" 1 | grep -q ERROR ||
		{ e2e_log "port $UNDECLARED_PORT answered before its route"; return 1; }
	cat >>"$E2E_TMP/inv/group_vars/kube_gateway_pool.yml" <<EOR
    extra:
      mode: tcp
      address: "*"
      port: $UNDECLARED_PORT
      destination:
        group:
          name: kube_nodes
          port: $UNDECLARED_PORT
        balance: roundrobin
EOR
	pkg_playbook
	grep -q 'RUNNING HANDLER \[portier : Reload the running portier daemon\]' \
		"$E2E_TMP/ansible-$PKG_RUNS.log" || { e2e_log "the reload handler did not run"; return 1; }
	pkg_forwards "$UNDECLARED_PORT" 'node-2|node-3|node-4'
	[ "$DAEMON_PID" = "$pid" ] && kill -0 "$pid" &&
		[ "$(ip netns exec "$NS_GW" portier -j --bpffs "$PIN_DIR" prog show | jq .daemon_pid)" = "$pid" ] ||
		{ e2e_log "the daemon was restarted, not reloaded"; return 1; }
	grep -q 'reload: 7 routes applied' "$DAEMON_LOG" ||
		{ e2e_log "no reload in the daemon's log: $(grep reload "$DAEMON_LOG")"; return 1; }

	# Upgrade under a held connection: the role installs the newer
	# package, then the unit restarts as systemd's postinst would.
	ip netns exec "$NS_CLIENT" timeout "$PKG_HOLD_TIMEOUT" "$CLIENT" hold "$GW_IN_ADDR" \
		"${SEED_PORTS[0]}" "$PKG_HOLD_ROUNDS" "$PKG_HOLD_INTERVAL" >"$hold" 2>&1 &
	hold_pid=$!
	E2E_PIDS+=("$hold_pid")
	wait_for "the held connection" grep -qs . "$hold"
	sed -i "s|^portier_deb: .*|portier_deb: $deb2|" "$E2E_TMP/vars.yml"
	pkg_playbook
	dpkg --compare-versions "$(dpkg-query -W -f='${Version}' portier)" eq "$v2"
	readlink "/proc/$DAEMON_PID/exe" | grep -q deleted ||
		{ e2e_log "the old daemon's binary was not replaced"; return 1; }
	n_before=$(wc -l <"$hold")
	kill -TERM "$DAEMON_PID"	# the unit's KillSignal; --keep leaves the data plane
	wait "$DAEMON_PID" || { e2e_log "the daemon's stop failed"; return 1; }
	DAEMON_PID=
	log_at=$(wc -l <"$DAEMON_LOG")
	DAEMON_STARTS=2 unit_start
	tail -n +"$((log_at + 1))" "$DAEMON_LOG" | grep -q 'adopted the pinned data plane' ||
		{ e2e_log "the upgraded daemon did not adopt the data plane"; return 1; }
	ip netns exec "$NS_GW" /usr/sbin/portier version | grep -qF "$v2"
	wait_for "the held connection after the upgrade" \
		eval '[ "$(wc -l <"$hold")" -ge $((n_before + 8)) ]'
	kill "$hold_pid" 2>/dev/null || true
	wait "$hold_pid" 2>/dev/null || true
	n_after=$(wc -l <"$hold")
	if grep -q ERROR "$hold" || [ "$(sort -u "$hold" | wc -l)" -ne 1 ]; then
		e2e_log "the held connection was cut or moved: $(sort "$hold" | uniq -c | tr '\n' ' ')"
		return 1
	fi
	e2e_log "held connection: $n_before answers before the restart, $((n_after - n_before)) after, all from $(head -1 "$hold")"
	pkg_forwards "$UNDECLARED_PORT" 'node-2|node-3|node-4'

	# Purge: stop (keeps the data plane), then the prerm detaches it.
	daemon_stop TERM
	[ -d "$PIN_DIR" ] || { e2e_log "stop removed the pins (the unit's stop keeps them)"; return 1; }
	dpkg --purge portier >"$E2E_TMP/dpkg.log" 2>&1 ||
		{ e2e_log "dpkg --purge: $(cat "$E2E_TMP/dpkg.log")"; return 1; }
	PKG_INSTALLED=0
	[ ! -e /usr/sbin/portier ] && [ ! -e /etc/default/portier ] && [ ! -e "$PKG_UNIT" ] ||
		{ e2e_log "the purge left files"; return 1; }
	[ ! -e "$PIN_DIR" ] || { e2e_log "the purge did not detach the data plane: $(ls "$PIN_DIR")"; return 1; }
	ip netns exec "$NS_GW" ip link show in0 | grep -q xdp &&
		{ e2e_log "XDP still on in0 after the purge"; return 1; }
	return 0
}
