#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark: the sync time of a node rejoining a cluster of N instances
# (default 10,000).  A real 3-node cluster; nodes 1 and 2 hold N instances
# (written into their databases while their hamonds are stopped: the
# inventory of a real cluster that size cannot be made on this machine).
# Node 3 holds none, or with CHANGED given, the same N of which CHANGED
# differ (a node that missed a few changes).  The three hamonds start; node
# 3 must take what differs from the source.  Prints the time until node 3
# is synced (lists all N, or logs that it synced), and the sync's own lines
# from the logs.
#   tests/bench/sync.sh [BUILD_DIR] [N] [CHANGED]     (as root)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
n=${2:-10000}
changed=${3:-}
export HAMOND=$build/hamon/hamond HAMONCTL=$build/hamon/hamonctl HC_ID=${HC_ID:-96}
harness=$top/tests/harness/hamon-cluster
state=/tmp/hamon-cluster-$HC_ID
trap '"$harness" down >/dev/null 2>&1 || true' EXIT
"$harness" down >/dev/null 2>&1 || true
"$harness" up 3 >/dev/null
"$harness" wait-status 1 '.acting == true and (.members | length) == 3' 30 >/dev/null
for i in 1 2 3; do "$harness" stop-hamond "$i" >/dev/null; done
db() { echo "$state/n$1/lib-hamon/hamon.db"; }
# a 2 KiB domain XML per instance, as libvirt's are a few KiB
filler=$(head -c 1500 /dev/zero | tr '\0' 'x')
sqlite3 "$(db 1)" >/dev/null <<SQL
PRAGMA foreign_keys = ON;
INSERT INTO hosts (nodeid, name, state, maintenance, disabled, reserved, vcpus, memory_mib, updated_ms)
  VALUES (100, 'bench-host', 'online', 0, 0, 0, 100000, 100000000, 1);
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $n)
INSERT INTO instances (uuid, name, domain_xml, owner, storage, vcpus, memory_mib, requested,
                       ha_policy, priority, observed, updated_ms)
SELECT printf('%08x-0000-4000-8000-%012x', i, i), 'bench-' || i,
       '<domain type=''qemu''><name>bench-' || i || '</name><description>$filler</description></domain>',
       100, 'shared', 1, 64, 'started', 'ha', 0, 'running', 1 FROM k;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
rm -f "$(db 2)" "$(db 2)-wal" "$(db 2)-shm"
cp "$(db 1)" "$(db 2)"
if [[ -n $changed ]]; then
	# node 3: the same instances, CHANGED of them spread over the table altered
	rm -f "$(db 3)" "$(db 3)-wal" "$(db 3)-shm"
	cp "$(db 1)" "$(db 3)"
	sqlite3 "$(db 3)" "UPDATE instances SET vcpus = 2 WHERE rowid % ($n / $changed) = 0 AND rowid <= $n;
		PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
fi
size=$(du -k "$(db 1)" | cut -f1)
: >"$state/n3/log-hamon/hamond.log"
log3=$state/n3/log-hamon/hamond.log
t0=$(date +%s%N)
for i in 1 2; do "$harness" start-hamond "$i" >/dev/null; done
"$harness" start-hamond 3 >/dev/null &
starting=$!
# the sync itself, as node 3 logs it (polled every 10 ms: the log has
# whole seconds)
t_from=
while :; do
	now=$(date +%s%N)
	if [[ -z $t_from ]] && grep -q "our data differs, taking the source's" "$log3"; then
		t_from=$now
	fi
	if grep -q "replica: synced from" "$log3"; then
		t_done=$now
		break
	fi
	(((now - t0) / 1000000000 < 120)) || { echo "sync.sh: node 3 did not sync within 120 s" >&2; exit 1; }
	sleep 0.01
done
wait "$starting"
if [[ -z $changed ]]; then
	# the bench host's instance count, as node 3's replica has it
	until [[ $("$harness" ctl 3 host-list --json 2>/dev/null |
		jq '.hosts[] | select(.nodeid == 100) | .instances') == "$n" ]]; do
		sleep 0.05
	done
	what="lists all $n instances"
else
	what="has synced the $changed instances that differed (of $n)"
fi
t1=$(date +%s%N)
echo "# $(date -u +%F) $(nproc) cores; 3 nodes; $n instances (${size} KiB database)"
printf 'sync: node 3 %s %.2f s after the three hamonds were started; the sync took %.2f s (from "our data differs" to "synced from" in its log)\n' \
	"$what" "$(echo "($t1 - $t0) / 1000000000" | bc -l)" \
	"$(echo "($t_done - ${t_from:-$t_done}) / 1000000000" | bc -l)"
grep -hE "replica: (sync from|synced from|sync: sending)" "$state/n1/log-hamon/hamond.log" \
	"$log3" | tail -4
