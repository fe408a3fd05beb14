#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark: replicated updates across a real 3-node cluster (corosync knet
# in network namespaces, one hamond and sqlite database per node).  Not a
# test: it prints numbers; doc/benchmarks.md says what they were.
#   tests/bench/replication.sh [BUILD_DIR]      (as root; default build/)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
export HAMOND=$build/hamon/hamond HAMONCTL=$build/hamon/hamonctl HC_ID=${HC_ID:-95}
harness=$top/tests/harness/hamon-cluster
bench=$build/tests/bench/replbench
[[ -x $bench ]] || make -C "$build/tests/bench" replbench >/dev/null
trap '"$harness" down >/dev/null 2>&1 || true' EXIT
"$harness" down >/dev/null 2>&1 || true
"$harness" up 3 >/dev/null
"$harness" wait-status 1 '.acting == true and (.members | length) == 3' 30 >/dev/null
echo "# $(date -u +%F) $(nproc) cores; corosync token ${HC_TOKEN:-1000} ms; 3 nodes, each hamond fsyncs (WAL, synchronous=FULL)"
run() { "$harness" exec 1 "$bench" "$@"; }
run -n 2000 -w 1
run -n 5000 -w 16
run -n 10000 -w 64
run -n 10000 -w 256
run -n 5000 -r 1000 -w 64
run -n 5000 -r 100 -w 64
