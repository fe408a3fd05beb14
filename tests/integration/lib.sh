# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# lib.sh - helpers for hamon's integration tests.  Source it from a *.test
# script (run by automake as `bash NAME.test` with HAMOND, HAMONCTL, HARNESS
# and TOP_SRCDIR in the environment):
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   t_init                        # traps, temp dir, start time
#   t_require_root; t_require_tools jq ...     # else exit 77 (skip)
#   hc_up 3                       # a cluster of its own; torn down at exit
#   t_check "what" cmd args..     # prints ok/not ok, returns cmd's status
#   t_step "name" function        # a group of checks
#   exit                          # the EXIT trap tears down and sums up
#
# Output: every line starts with a wall-clock timestamp; results are TAP-like
# "ok - ..." / "not ok - ..." lines, and a summary with the duration at the end.
# Exit status: 0 all passed, 1 something failed, 77 skipped.

# ---- numbers ----------------------------------------------------------------
T_POLL_S=${T_POLL_S:-0.2}        # polling interval
T_CONVERGE_S=${T_CONVERGE_S:-30} # membership changes settle within this
T_LOG_TAIL=${T_LOG_TAIL:-60}     # lines of each node log shown on failure
# left out of those lines: libqb's debug lines for every hamonctl connection
T_LOG_NOISE='/dev/shm/qb-|to poll loop|shm size:'
T_HC_ID_FIRST=${T_HC_ID_FIRST:-101} # automatic cluster ids are tried from here
T_HC_ID_LAST=${T_HC_ID_LAST:-200}
readonly T_EXIT_SKIP=77 T_HC_BUSY=3 T_MS_PER_S=1000

T_NAME=$(basename "$0" .test)
T_PASS=0
T_FAIL=0
T_SKIPPED=0
T_FAILED=()
T_TMP=
T_HC_ID=
T_HC_STATE=
T_HC_OWNED=0
T_T0_MS=0
T_CLEANUP=()
T_CHILD=
T_OWNER="$T_NAME.$$.${EPOCHREALTIME/./}" # marks the cluster this test brought up
T_TEARDOWN_SET=0
# results of t_run, for the caller
T_RC=0
T_OUT=''
T_ERR=''

# ---- time and logging ------------------------------------------------------
t_now_ms() { local t=$EPOCHREALTIME; echo $((${t%.*} * T_MS_PER_S + 10#${t#*.} / 1000)); }
t_fmt_ms() { printf '%d.%03d s' $(($1 / T_MS_PER_S)) $(($1 % T_MS_PER_S)); }
t_ts() {
	local t=$EPOCHREALTIME u
	u=${t#*.}
	printf '%(%H:%M:%S)T.%s' "${t%.*}" "${u:0:3}"
}
t_log() { echo "$(t_ts) $*"; }
# indented diagnostics (multi-line text from stdin or arguments)
t_diag() {
	if (($#)); then printf '%s\n' "$@"; else cat; fi | sed "s/^/$(t_ts) #   /"
}

# ---- results ---------------------------------------------------------------
t_ok() {
	T_PASS=$((T_PASS + 1))
	t_log "ok - $*"
}
t_not_ok() {
	T_FAIL=$((T_FAIL + 1))
	T_FAILED+=("$*")
	t_log "not ok - $*"
}
t_skip() {
	T_SKIPPED=$((T_SKIPPED + 1))
	t_log "ok - $* # SKIP"
}

# t_check DESCRIPTION CMD [ARGS..]: run CMD; ok when it exits 0
t_check() {
	local what=$1 rc=0
	shift
	"$@" || rc=$?
	if ((rc == 0)); then t_ok "$what"; else t_not_ok "$what (exit $rc: $*)"; fi
	return "$rc"
}

# t_eq DESCRIPTION EXPECTED ACTUAL
t_eq() {
	if [[ $2 == "$3" ]]; then
		t_ok "$1"
	else
		t_not_ok "$1"
		t_diag "expected: $2" "actual:   $3"
		return 1
	fi
}

# t_step NAME FUNCTION [ARGS..]: a group of checks; fails if FUNCTION fails
t_step() {
	local name=$1 t0 rc=0
	shift
	t0=$(t_now_ms)
	t_log "# step: $name"
	"$@" || rc=$?
	if ((rc == 0)); then
		t_log "# step passed: $name ($(t_fmt_ms $(($(t_now_ms) - t0))))"
	else
		t_log "# step FAILED: $name ($(t_fmt_ms $(($(t_now_ms) - t0))))"
	fi
	return "$rc"
}

# ---- skipping --------------------------------------------------------------
t_skip_all() {
	t_log "SKIP $T_NAME: $*"
	exit "$T_EXIT_SKIP"
}
t_require_root() { ((EUID == 0)) || t_skip_all "needs root"; }
t_require_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || t_skip_all "required tool missing: $t"
	done
}
# network and mount namespaces must work (not in every container)
t_require_namespaces() {
	unshare -n -m true 2>/dev/null || t_skip_all "cannot create namespaces here"
}
# t_require_exec VAR..: each variable names an executable (a broken build
# is a failure, not a skip)
t_require_exec() {
	local v
	for v in "$@"; do
		if [[ -z ${!v:-} || ! -x ${!v} ]]; then
			t_not_ok "$v is set to an executable (got '${!v:-}')"
			exit 1
		fi
	done
}

# ---- set-up and teardown ---------------------------------------------------
# t_at_exit "CMD ..": run at exit (evaluated), last registered first
t_at_exit() { T_CLEANUP+=("$1"); }

t_init() {
	T_T0_MS=$(t_now_ms)
	trap t_on_exit EXIT
	trap 't_on_signal INT' INT
	trap 't_on_signal TERM' TERM
	T_TMP=$(mktemp -d "/tmp/hamon-$T_NAME.XXXXXX")
	chmod 0755 "$T_TMP"
	t_log "# $T_NAME: started (pid $$, temp $T_TMP)"
}

t_on_signal() {
	t_not_ok "interrupted by SIG$1"
	if [[ -n $T_CHILD ]]; then
		kill -TERM "$T_CHILD" 2>/dev/null || true
		wait "$T_CHILD" 2>/dev/null || true
	fi
	exit 1
}

t_on_exit() {
	local rc=$? i
	trap - EXIT
	trap '' INT TERM
	if ((T_FAIL > 0 || (rc != 0 && rc != T_EXIT_SKIP))); then
		hc_dump_logs
	fi
	for ((i = ${#T_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${T_CLEANUP[i]}" || t_log "# cleanup failed: ${T_CLEANUP[i]}"
	done
	[[ -z $T_TMP ]] || rm -rf "$T_TMP"
	if ((rc == T_EXIT_SKIP && T_FAIL == 0)); then
		t_log "# $T_NAME: skipped after $(t_fmt_ms $(($(t_now_ms) - T_T0_MS)))"
		exit "$T_EXIT_SKIP"
	fi
	((T_FAIL == 0 && rc == 0)) || rc=1
	t_log "# $T_NAME: $T_PASS passed, $T_FAIL failed, $T_SKIPPED skipped, in $(t_fmt_ms $(($(t_now_ms) - T_T0_MS)))"
	for i in "${T_FAILED[@]}"; do t_log "#   failed: $i"; done
	t_log "# $T_NAME: $( ((rc == 0)) && echo PASS || echo FAIL)"
	exit "$rc"
}

# ---- polling ---------------------------------------------------------------
# t_poll TIMEOUT_S CMD [ARGS..]: until CMD succeeds (0) or the time is up (1)
t_poll() {
	local t=$1 deadline
	shift
	deadline=$(($(t_now_ms) + t * T_MS_PER_S))
	until "$@"; do
		(($(t_now_ms) < deadline)) || return 1
		sleep "$T_POLL_S"
	done
}

# t_run CMD [ARGS..]: run, keep T_RC, T_OUT (stdout) and T_ERR (stderr)
# shellcheck disable=SC2034 # the results are for the caller
t_run() {
	local ef
	ef=$(mktemp "$T_TMP/err.XXXXXX")
	T_RC=0
	T_OUT=$("$@" 2>"$ef") || T_RC=$?
	T_ERR=$(cat "$ef")
	rm -f "$ef"
}

# ---- the cluster (tests/harness/hamon-cluster) -----------------------------
# The harness runs in the background and the shell waits for it: bash runs
# a signal trap only after a foreground command ends, but interrupts `wait`.
hc() {
	local rc=0
	HC_ID=$T_HC_ID HC_STATE=$T_HC_STATE HC_OWNER=$T_OWNER "$HARNESS" "$@" <&0 &
	T_CHILD=$!
	wait "$T_CHILD" || rc=$?
	T_CHILD=
	return "$rc"
}

# hc_up N [harness up options]: bring up a cluster with an id of its own
# (HC_ID from the environment, else the first free one from
# T_HC_ID_FIRST), torn down at exit (even if `up` is interrupted: the
# harness's `down` with HC_OWNER touches only the cluster this test claimed).
hc_up() {
	local id rc first=$T_HC_ID_FIRST last=$T_HC_ID_LAST
	if [[ -n ${HC_ID:-} ]]; then first=$HC_ID last=$HC_ID; fi
	if ((T_TEARDOWN_SET == 0)); then
		t_at_exit hc_teardown
		T_TEARDOWN_SET=1
	fi
	for ((id = first; id <= last; id++)); do
		[[ -e /run/netns/hc$id-br || -e /tmp/hamon-cluster-$id ]] && continue
		T_HC_ID=$id
		T_HC_STATE=${HC_STATE:-/tmp/hamon-cluster-$id}
		T_HC_OWNED=1
		rc=0
		hc up "$@" || rc=$?
		if ((rc == T_HC_BUSY)); then # taken meanwhile; nothing was done
			T_HC_OWNED=0
			continue
		fi
		return "$rc"
	done
	t_log "# no free cluster id in $first..$last"
	return 1
}

# `down`, once (a test may call it itself to check the result)
hc_teardown() {
	local rc=0
	((T_HC_OWNED)) || return 0
	hc down || rc=$?
	((rc == T_HC_BUSY)) && rc=0 # claimed by someone else: not ours to stop
	((rc == 0)) && T_HC_OWNED=0
	return "$rc"
}

# the last lines of every node's logs, to see why something failed
hc_dump_logs() {
	local d f
	((T_HC_OWNED)) && [[ -n $T_HC_STATE && -d $T_HC_STATE ]] || return 0
	t_log "# logs of cluster $T_HC_ID ($T_HC_STATE):"
	hc status 2>&1 | t_diag || true
	for d in "$T_HC_STATE"/n[0-9]*; do
		for f in "$d/hamond.out" "$d/log-hamon/hamond.log" "$d/corosync.out" "$d/log-corosync/corosync.log"; do
			[[ -s $f ]] || continue
			t_log "# --- ${f#"$T_HC_STATE"/} (last $T_LOG_TAIL lines, without libqb IPC chatter)"
			grep -vE "$T_LOG_NOISE" "$f" | tail -n "$T_LOG_TAIL" | t_diag
		done
	done
}

# hamonctl status --json of a node (fails if hamonctl fails)
hc_status() { hc ctl "$1" status --json; }

# a field of a node's status, e.g. hc_field 2 .coordinator.nodeid
hc_field() {
	local out
	out=$(hc_status "$1") || return 1
	jq -r "$2" <<<"$out"
}

# hc_agree NODES WANT [TIMEOUT_S]: poll until every node in NODES (e.g. 1,2)
# reports: corosync connected, quorate, synced, members = WANT (node ids,
# e.g. 1,2, named nodeN, every hamond running), a coordinator among them,
# its own identity right, and every node shows the same members and the
# same coordinator.  Sets HC_COORD to the coordinator's node id.  On
# timeout prints each node's last status and fails.
hc_agree() {
	local nodes=$1 want=$2 t=${3:-$T_CONVERGE_S} deadline n ok sig first
	local -A last=()
	local want_json
	want_json=$(jq -cn --arg w "$want" '$w | split(",") | map(tonumber) | sort')
	deadline=$(($(t_now_ms) + t * T_MS_PER_S))
	while :; do
		ok=1 first=
		for n in ${nodes//,/ }; do
			last[$n]=$(hc_status "$n" 2>&1) || { ok=0; continue; }
			sig=$(jq -ce --argjson want "$want_json" --argjson me "$n" '
				select(.corosync == "connected" and .quorum == "quorate" and .synced == true
					and .local.nodeid == $me and .local.name == "node\($me)"
					and ([.members[].nodeid] | sort) == $want
					and all(.members[]; .hamond == true and .name == "node\(.nodeid)")
					and .coordinator != null
					and ([.coordinator.nodeid] | inside($want))
					and .coordinator.name == "node\(.coordinator.nodeid)")
				| {members: ([.members[] | {nodeid, name}] | sort_by(.nodeid)), coordinator}
				' <<<"${last[$n]}" 2>/dev/null) || { ok=0; continue; }
			if [[ -z $first ]]; then first=$sig; elif [[ $sig != "$first" ]]; then ok=0; fi
		done
		if ((ok)); then
			HC_COORD=$(jq -r '.coordinator.nodeid' <<<"$first")
			t_log "# nodes $nodes agree: members $want, coordinator $HC_COORD"
			return 0
		fi
		(($(t_now_ms) < deadline)) || break
		sleep "$T_POLL_S"
	done
	t_log "# nodes $nodes did not agree on members $want within ${t}s; last status:"
	for n in ${nodes//,/ }; do
		t_diag "node $n:" "${last[$n]:-}"
	done
	return 1
}

# the PIDs this cluster's harness recorded (any state)
hc_recorded_pids() {
	[[ -f $T_HC_STATE/pids ]] || return 0
	awk '{print $1}' "$T_HC_STATE/pids"
}

# true if PID runs and is not a zombie (zombies are reaped late here)
t_pid_running() {
	local st
	[[ -r /proc/$1/stat ]] || return 1
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[[ -n $st && $st != Z && $st != X ]]
}
