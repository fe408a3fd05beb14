#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark: how fast hamond fences (doc/fencing-benchmarks.md).  A real
# 3-node cluster with a simulated BMC and PDU per node (ipmi_sim on the
# management network, `hamon-cluster up --bmc`); node 2 has two devices,
# level 1 its BMC and level 2 its PDU, both fence_ipmilan with power_wait=0.
#   1. N operator fences of node 2 (`hamonctl fence node2 --yes`), each
#      with node 2 powered on again and back in the cluster before the next:
#        decided -> confirmed   the fence job's creation to its host.fenced
#                               history event (both stamped by hamond)
#        command -> off         `hamonctl fence` started to the BMC's power-off
#                               (the harness's power log)
#        command -> confirmed   `hamonctl fence` started to host.fenced
#        agent                  the level-1 fence_ipmilan call (its history line)
#   2. M fences with node 2's BMC hung (SIGSTOP): the time to escalate past
#      the dead BMC to the PDU (decided -> confirmed, and command -> the PDU's
#      power-off), and how long level 1 took to fail.
# Prints every sample, then median, p90, p99 and max (nearest rank: with
# fewer than 100 samples p99 is the maximum).  Not a test.
#   tests/bench/fencebench.sh [BUILD_DIR] [N] [M]     (as root; default build/, 30, 5)
# Environment: HC_ID (default 92), FENCE_TIMEOUT_S (policy fence_timeout_s,
# default 3), HAMONCTL (default BUILD_DIR/hamon/hamonctl).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
n=${2:-30}
m=${3:-5}
fence_timeout_s=${FENCE_TIMEOUT_S:-3}
[[ $n =~ ^[1-9][0-9]*$ && $m =~ ^[0-9]+$ ]] || { echo "fencebench: N must be 1 or more, M 0 or more (got '$n', '$m')" >&2; exit 2; }
[[ $fence_timeout_s =~ ^[1-9][0-9]*$ ]] || { echo "fencebench: FENCE_TIMEOUT_S must be whole seconds, 1 or more (got '$fence_timeout_s')" >&2; exit 2; }
((EUID == 0)) || { echo "fencebench: needs root" >&2; exit 2; }
for t in jq ipmi_sim ipmitool fence_ipmilan corosync; do
	command -v "$t" >/dev/null || { echo "fencebench: $t is not installed" >&2; exit 2; }
done
export HAMOND=${HAMOND:-$build/hamon/hamond} HAMONCTL=${HAMONCTL:-$build/hamon/hamonctl} HC_ID=${HC_ID:-92}
harness=$top/tests/harness/hamon-cluster
state=${HC_STATE:-/tmp/hamon-cluster-$HC_ID}
readonly SLOW_CONFIRM_MS=1000
tmp=$(mktemp -d /tmp/fencebench.XXXXXX)
trap '"$harness" bmc-unhang 2 >/dev/null 2>&1 || true; "$harness" down >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
"$harness" down >/dev/null 2>&1 || true
"$harness" up 3 --bmc >/dev/null
all_back='.acting == true and (.members | length) == 3 and all(.members[]; .hamond) and .coordinator.nodeid == 1'
"$harness" wait-status 1 "$all_back" 30 >/dev/null

now_ms() { local t=$EPOCHREALTIME; echo $((${t%.*} * 1000 + 10#${t#*.} / 1000)); }
ctl() { "$harness" ctl 1 "$@"; }
quiet() { "$@" >/dev/null; }

quiet ctl config set fence_timeout_s "$fence_timeout_s"
quiet ctl config set fence_retries 0
{ "$harness" bmc 2 stdin && echo power_wait=0; } >"$tmp/bmc"
{ "$harness" bmc 2 pdu-stdin && echo power_wait=0; } >"$tmp/pdu"
chmod 0600 "$tmp/bmc" "$tmp/pdu"
quiet ctl fence add node2 fence_ipmilan --level 1 --params-from "$tmp/bmc"
quiet ctl fence add node2 fence_ipmilan --level 2 --params-from "$tmp/pdu"

newest_fence_job() {
	ctl job list --all --json | jq -r '[.jobs[] | select(.kind == "fence" and .host == "node2")] | sort_by(.id) | last | .id // empty'
}

# one operator fence of node 2; prints "decided->confirmed command->off
# command->confirmed level1_ms", or fails naming what went wrong
one_fence() { # bmc|pdu: the device expected to power off
	local before job t0 st created fenced off by l1 deadline
	before=$(newest_fence_job)
	t0=$(now_ms)
	quiet ctl fence node2 --yes
	deadline=$((t0 + 60000))
	while :; do
		job=$(newest_fence_job)
		if [[ -n $job && $job != "$before" ]]; then
			st=$(ctl job list --all --json | jq -r --argjson id "$job" '.jobs[] | select(.id == $id) | .state')
			[[ $st == "done" || $st == failed || $st == cancelled ]] && break
		fi
		(($(now_ms) < deadline)) || { echo "fencebench: the fence job did not end within 60 s" >&2; return 1; }
		sleep 0.05
	done
	[[ $st == "done" ]] || { echo "fencebench: fence job $job ended $st" >&2; ctl history --job "$job" >&2; return 1; }
	created=$(ctl job list --all --json | jq -r --argjson id "$job" '.jobs[] | select(.id == $id) | .created_ms')
	ctl history --job "$job" --json >"$tmp/events"
	fenced=$(jq -r '[.events[] | select(.kind == "host.fenced")][0].ts_ms' "$tmp/events")
	l1=$(jq -r '[.events[] | select(.kind == "fence.attempt") | .message | select(test("level 1\\)"))][0]' "$tmp/events" |
		sed -nE 's/.*, ([0-9]+) ms, .*/\1/p')
	read -r off by < <("$harness" power-log 2 | awk '$2 == "off" { t = $1; b = $3 } END { print t, b }')
	[[ $by == "$1" && $off -ge $t0 ]] || { echo "fencebench: the last off of node 2 is '$off $by', not by the $1 after $t0" >&2; return 1; }
	if ((fenced - off > SLOW_CONFIRM_MS)); then
		# the confirmation was recorded well after the power went off: keep why
		cp "$state/n1/log-hamon/hamond.log" "/tmp/fencebench-slow.$job.log"
		echo "# job $job: host.fenced recorded $((fenced - off)) ms after the power-off; node 1's log: /tmp/fencebench-slow.$job.log" >&2
	fi
	echo "$((fenced - created)) $((off - t0)) $((fenced - t0)) ${l1:--}"
}

power_on() {
	quiet "$harness" power-on 2
	"$harness" wait-status 1 "$all_back" 60 >/dev/null
	"$harness" wait-status 2 "$all_back and .synced == true" 60 >/dev/null
}

# nearest-rank percentiles of one column of a samples file
stats() { # file column label
	sort -n < <(awk -v c="$2" '{ print $c }' "$1") | awk -v label="$3" '
		{ v[NR] = $1 }
		function rank(p,   r) { r = int(p * NR / 100); if (r < p * NR / 100) r++; if (r < 1) r = 1; return v[r] }
		END { printf "  %-22s n=%-3d median %5d ms  p90 %5d ms  p99 %5d ms  max %5d ms\n",
			label, NR, rank(50), rank(90), rank(99), v[NR] }'
}

echo "# $(date -u +%F) $(nproc) cores; $(fence_ipmilan -V 2>/dev/null | head -n 1 | sed 's/^/fence_ipmilan /'); 3 nodes, corosync token ${HC_TOKEN:-1000} ms"
echo "# policy fence_timeout_s=$fence_timeout_s fence_retries=0; devices: node2 level 1 BMC, level 2 PDU (power_wait=0, lanplus, cipher 3)"
echo "# columns: decided->confirmed  command->off  command->confirmed  level-1 agent (ms)"
echo "## $n operator fences, the BMC answers"
: >"$tmp/good"
for ((i = 1; i <= n; i++)); do
	s=$(one_fence bmc)
	echo "$s" | tee -a "$tmp/good"
	power_on
done
stats "$tmp/good" 1 "decided -> confirmed"
stats "$tmp/good" 2 "command -> BMC off"
stats "$tmp/good" 3 "command -> confirmed"
stats "$tmp/good" 4 "level-1 agent"
late() { awk -v slow="$SLOW_CONFIRM_MS" '$3 - $2 > slow { k++ } END { printf "  host.fenced recorded more than %d ms after the power-off: %d of %d\n", slow, k, NR }' "$1"; }
late "$tmp/good"
if ((m > 0)); then
	echo "## $m fences with the BMC hung (SIGSTOP): escalation to the PDU"
	: >"$tmp/dead"
	for ((i = 1; i <= m; i++)); do
		quiet "$harness" bmc-hang 2
		s=$(one_fence pdu)
		quiet "$harness" bmc-unhang 2
		echo "$s" | tee -a "$tmp/dead"
		power_on
	done
	stats "$tmp/dead" 1 "decided -> confirmed"
	stats "$tmp/dead" 2 "command -> PDU off"
	stats "$tmp/dead" 3 "command -> confirmed"
	stats "$tmp/dead" 4 "level 1 failed after"
	late "$tmp/dead"
fi
