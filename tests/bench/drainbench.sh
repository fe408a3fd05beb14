#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark: hamon's drain against migrating by hand (doc/drain-benchmarks.md).
# A real 3-node cluster (corosync, hamond, a libvirtd per node, TCG guests on
# the shared dir).  N guests run on node 1, one of them dirtying DIRTY_MIB of
# its RAM faster than any bandwidth cap.  Each round, on the same guests:
#   serial  hamond stopped on every node; `virsh migrate --live --p2p
#           --persistent --undefinesource --unsafe` of one guest after the
#           other, node 1 -> node 2 / node 3 in turn (what an operator does by
#           hand, and what Nova does with one migration at a time), with the
#           controls hamon uses: --bandwidth, --auto-converge, and --postcopy
#           --timeout T --timeout-postcopy, T the completion timeout that
#           hamon is given too (migration_timeout_s_per_gib = T: hamon counts
#           at least one GiB per guest).
#           Every guest is then moved back to node 1 the same way (not timed)
#           and hamond started again.
#   hamon   `hamonctl maintenance on node1 --wait`: hamon's drain with its
#           defaults (2 migrations at once out of a host, auto-converge,
#           post-copy at the completion timeout) and the same bandwidth cap;
#           then maintenance off and every guest migrated back with
#           `hamonctl migrate GUEST node1 --wait` (not timed).
# Measured:
#   time      serial: the sum of the virsh calls (one after the other, so the
#             wall time of the whole); hamon: hamonctl's wall time, and the
#             job's created -> updated (stamped by hamond)
#   downtime  libvirt's statistics of the completed migration, "Total
#             downtime" of `virsh domjobinfo --completed` asked of the
#             destination right after (the source's domain is undefined by
#             then); for hamon also the downtime its step reports (from the
#             source's JOB_COMPLETED event); "-" when libvirt keeps none
#             (after post-copy the destination has no completed statistics)
#   completed how many migrations of the busy guest ended with the guest
#             running on the destination
# Prints every sample, then a summary.  Not a test.
#   tests/bench/drainbench.sh [BUILD_DIR]      (as root; default build/)
# Environment: HC_ID (default 82), GUESTS (6, the last one busy), DIRTY_MIB
# (32), BANDWIDTH_MIBS (100), TIMEOUT_S (4), ROUNDS (3), BUSY_ORDER (any:
# as mkvm's random uuids fall; first or last: the busy guest's uuid is made
# to sort first or last, and hamon plans a drain in uuid order), HAMOND and HAMONCTL (default
# BUILD_DIR/hamon/...).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
guests=${GUESTS:-6}
dirty=${DIRTY_MIB:-32}
bw=${BANDWIDTH_MIBS:-100}
rounds=${ROUNDS:-3}
timeout_s=${TIMEOUT_S:-4}
busy_order=${BUSY_ORDER:-any}
[[ $busy_order == any || $busy_order == first || $busy_order == last ]] ||
	{ echo "drainbench: BUSY_ORDER must be any, first or last (got '$busy_order')" >&2; exit 2; }
for v in guests dirty bw rounds timeout_s; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "drainbench: $v must be a whole number, 1 or more (got '${!v}')" >&2; exit 2; }
done
((guests >= 2)) || { echo "drainbench: GUESTS must be 2 or more (one idle, one busy)" >&2; exit 2; }
((EUID == 0)) || { echo "drainbench: needs root" >&2; exit 2; }
for t in jq corosync libvirtd virsh qemu-system-x86_64 qemu-img as ld; do
	command -v "$t" >/dev/null || { echo "drainbench: $t is not installed" >&2; exit 2; }
done
export HAMOND=${HAMOND:-$build/hamon/hamond} HAMONCTL=${HAMONCTL:-$build/hamon/hamonctl} HC_ID=${HC_ID:-82}
harness=$top/tests/harness/hamon-cluster
readonly MEM_MIB=64 NODES=3
trap '"$harness" down >/dev/null 2>&1 || true' EXIT

hc() { "$harness" "$@"; }
ctl() { hc ctl 1 "$@"; }
quiet() { "$@" >/dev/null; }
now_ms() { local t=$EPOCHREALTIME; echo $((${t%.*} * 1000 + 10#${t#*.} / 1000)); }
die() { echo "drainbench: $*" >&2; exit 1; }
poll() { # timeout_s cmd..: until cmd succeeds
	local deadline=$(($(now_ms) + $1 * 1000))
	shift
	until "$@"; do
		(($(now_ms) < deadline)) || return 1
		sleep 0.2
	done
}

hc down >/dev/null 2>&1 || true
hc up "$NODES" --libvirt >/dev/null
quiet ctl config set migration_unsafe_shared_dir yes
quiet ctl config set migration_bandwidth_mibs "$bw"
# hamon's completion timeout is migration_timeout_s_per_gib x the guest's
# memory, at least one GiB's worth (hamon/steps.c): for these guests the
# value itself
quiet ctl config set migration_timeout_s_per_gib "$timeout_s"

vms=()
for ((g = 1; g <= guests; g++)); do
	v=bg$g opts=()
	((g == guests)) && v=bgbusy opts=(--dirty "$dirty")
	xml=$(hc mkvm "$v" --mem "$MEM_MIB" "${opts[@]}")
	# hamon plans a drain in uuid order: the busy guest's uuid puts it first or last
	if [[ $v == bgbusy && $busy_order != any ]]; then
		uuid=$( [[ $busy_order == first ]] && echo 00000000-0000-4000-8000 || echo ffffffff-ffff-4fff-bfff)
		sed -i "s|<uuid>.*-\([0-9a-f]*\)</uuid>|<uuid>$uuid-\1</uuid>|" "$(hc shared-dir)/${xml##*/}"
	fi
	sed -i 's|</domain>|  <metadata><hamon:ha xmlns:hamon="https://hamon.dev/xmlns/ha/1" policy="ha"/></metadata>\n</domain>|' \
		"$(hc shared-dir)/${xml##*/}"
	quiet hc virsh 1 define "$xml"
	quiet hc virsh 1 start "$v"
	vms+=("$v")
done
busy=${vms[-1]}
# the busy guest's first pass writes zeros (free to migrate): wait for more
busy_dirties() { [[ $(hc serial "$1" "$busy" 2>/dev/null | tail -n 1) =~ PASS\ ([0-9]+) ]] && ((BASH_REMATCH[1] >= 2)); }
on_node1() { # every guest running on node 1, and hamon (node 1's replica) agrees
	local v
	for v in "${vms[@]}"; do [[ $(hc virsh 1 domstate "$v" 2>/dev/null | sed -n 1p) == running ]] || return 1; done
	[[ $(ctl list --json | jq -r '[.instances[] | select(.host == "node1" and .state == "running")] | length') == "$guests" ]]
}
poll 30 busy_dirties 1 || die "the busy guest does not dirty memory"
poll 30 on_node1 || die "hamon does not list the $guests guests running on node1"

downtime_at() { # node vm: "Total downtime" in ms of the completed migration, or -
	local d
	d=$(hc virsh "$1" domjobinfo --completed "$2" 2>/dev/null | awk '/^Total downtime:/ { print $3 }')
	echo "${d:--}"
}
virsh_migrate() { # from to vm [extra virsh options]
	local from=$1 to=$2 v=$3
	shift 3
	hc virsh "$from" migrate --live --p2p --persistent --undefinesource --unsafe \
		--bandwidth "$bw" --auto-converge --postcopy --timeout "$timeout_s" --timeout-postcopy "$@" \
		"$v" "qemu+tcp://node$to/system" >/dev/null
}
hamonds() { # stop|start
	local i
	for ((i = 1; i <= NODES; i++)); do quiet hc "$1-hamond" "$i"; done
}

echo "# $(nproc) cores, $(uname -r), TCG guests of $MEM_MIB MiB: $((guests - 1)) idle, 1 dirtying $dirty MiB"
echo "# bandwidth cap $bw MiB/s; completion timeout ${timeout_s} s (then post-copy); $rounds rounds; busy guest's uuid sorts $busy_order"
echo "# round path    guest   to  wall_ms  downtime_ms  hamon_ms  hamon_downtime  result"
serial_sum=() hamon_wall=() hamon_job=() idle_dt_serial=() idle_dt_hamon=()
busy_ok_serial=0 busy_ok_hamon=0
for ((r = 1; r <= rounds; r++)); do
	# ---- by hand, one after the other, hamond stopped
	hamonds stop
	sum=0 k=0
	for v in "${vms[@]}"; do
		to=$((2 + k % 2)) k=$((k + 1))
		t0=$(now_ms)
		rc=0
		virsh_migrate 1 "$to" "$v" || rc=$?
		wall=$(($(now_ms) - t0))
		sum=$((sum + wall))
		st=$(hc virsh "$to" domstate "$v" 2>/dev/null | sed -n 1p)
		dt=$(downtime_at "$to" "$v")
		echo "$r serial   $v node$to $wall $dt - - rc=$rc,$st"
		[[ $v == "$busy" ]] || idle_dt_serial+=("$dt")
		[[ $v == "$busy" && $rc == 0 && $st == running ]] && busy_ok_serial=$((busy_ok_serial + 1))
		[[ $st == running ]] || die "round $r: $v does not run on node$to after virsh migrate"
	done
	serial_sum+=("$sum")
	k=0
	for v in "${vms[@]}"; do
		virsh_migrate $((2 + k % 2)) 1 "$v" || die "round $r: cannot move $v back to node1"
		k=$((k + 1))
	done
	hamonds start
	poll 60 on_node1 || die "round $r: hamon does not see the guests back on node1"
	# ---- hamon's drain
	t0=$(now_ms)
	out=$(ctl maintenance on node1 --wait 2>&1) || die "round $r: maintenance on node1 --wait failed: $out"
	wall=$(($(now_ms) - t0))
	job=$(grep -oE 'job [0-9]+' <<<"$out" | sed -n 1p | cut -d' ' -f2)
	js=$(ctl job show "$job" --json)
	hamon_wall+=("$wall")
	hamon_job+=("$(jq -r '.updated_ms - .created_ms' <<<"$js")")
	while read -r v to st res; do
		dt=$(downtime_at "${to#node}" "$v")
		hdt=$(sed -n 's/.*downtime \([0-9]*\) ms.*/\1/p' <<<"$res")
		ms=$(sed -n 's/^migrated in \([0-9]*\) ms.*/\1/p' <<<"$res")
		echo "$r hamon    $v $to - $dt ${ms:--} ${hdt:--} $st: $res"
		[[ $v == "$busy" ]] || idle_dt_hamon+=("${hdt:-$dt}")
		[[ $v == "$busy" && $st == "done" && $(hc virsh "${to#node}" domstate "$v" | sed -n 1p) == running ]] &&
			busy_ok_hamon=$((busy_ok_hamon + 1))
	done < <(jq -r '.steps[] | [.instance_name, .target, .state, .result] | join(" ")' <<<"$js")
	echo "$r hamon    (drain) - $wall - ${hamon_job[-1]} - job $job: $(jq -r .reason <<<"$js")"
	quiet ctl maintenance off node1
	for v in "${vms[@]}"; do
		ctl migrate "$v" node1 --wait >/dev/null 2>&1 || die "round $r: hamonctl migrate $v node1 failed"
	done
	poll 60 on_node1 || die "round $r: the guests are not back on node1"
done

stats() { # values..: min median max (nearest rank), "-" ignored
	printf '%s\n' "$@" | grep -E '^[0-9]+$' | sort -n |
		awk '{ v[NR] = $1 } END { if (!NR) { print "- - -"; exit } m = int((NR + 1) / 2); print v[1], v[m], v[NR] }'
}
read -r smin smed smax <<<"$(stats "${serial_sum[@]}")"
read -r hmin hmed hmax <<<"$(stats "${hamon_wall[@]}")"
read -r jmin jmed jmax <<<"$(stats "${hamon_job[@]}")"
echo "# summary over $rounds rounds (min / median / max)"
echo "serial (virsh, one after the other)  ${smin} / ${smed} / ${smax} ms"
echo "hamon drain (hamonctl --wait)        ${hmin} / ${hmed} / ${hmax} ms"
echo "hamon drain (job created->ended)     ${jmin} / ${jmed} / ${jmax} ms"
echo "ratio hamon / serial (medians)       $(awk -v h="$hmed" -v s="$smed" 'BEGIN { printf "%.2f", h / s }')"
echo "idle downtime, serial (ms)           $(stats "${idle_dt_serial[@]}" | tr ' ' '/')  of ${#idle_dt_serial[@]} migrations"
echo "idle downtime, hamon (ms)            $(stats "${idle_dt_hamon[@]}" | tr ' ' '/')  of ${#idle_dt_hamon[@]} migrations"
echo "busy guest completed, serial         $busy_ok_serial of $rounds"
echo "busy guest completed, hamon          $busy_ok_hamon of $rounds"
