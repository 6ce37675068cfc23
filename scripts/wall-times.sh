#!/usr/bin/env bash
# Wall time of a command run N times, one process after another: p50, p95 and max in ms
# (docs/PERFORMANCE.md, start-up of `segur validate`). Prints the load average first: the
# machine is shared, read the figures with it.
#
#   scripts/wall-times.sh 100 ./target/release/segur validate --no-cache FILE.json
set -euo pipefail
n=$1
shift
uptime
for _ in $(seq "$n"); do
  s=$(date +%s%N)
  "$@" >/dev/null 2>&1 || true
  e=$(date +%s%N)
  echo $(((e - s) / 1000))
done | sort -n | awk '{a[NR] = $1} END {
  printf "n=%d p50=%.1f ms p95=%.1f ms max=%.1f ms\n", NR, a[int(NR * 0.5)] / 1000, a[int(NR * 0.95)] / 1000, a[NR] / 1000
}'
