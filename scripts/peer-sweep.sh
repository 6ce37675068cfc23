#!/usr/bin/env bash
# Agreement with the official chain on a wide sweep: mutants (../shared/ans/mutate.py) of all
# 94 ANS examples and of documents built by segur, judged by the official chain
# (../shared/ans/run_peer.sh: JAXP + Saxon-HE running the ANS schematrons) and by
# `segur conformance compare-peer`, which ends with `agree N/M`. Two selections of the
# schematrons: the documents' oxygen processing instructions where present (auto), then the
# ANS CI tool's templateId mapping for every document (PEER_SELECT=mapping, --select mapping),
# with distinct built documents added unmutated.
#
# usage: scripts/peer-sweep.sh [SEED] [COUNT] [WORK]   (defaults: 11, 200, a temporary folder)
# Needs the official chain's packages (ans/README.md: openjdk-17-jre-headless,
# libsaxonhe-java, libxml2-utils); its first run compiles the schematrons (minutes).
# Exit status: 0 when both comparisons agree on every document, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:-11}
count=${2:-200}
work=${3:-$(mktemp -d)}
ans=../shared/ans
rules=$ans/testcontenucda
mkdir -p "$work"
segur() { cargo run --quiet --release -p segur-cli -- "$@"; }

rm -rf "$work/built" "$work/more" "$work/mutants" "$work/all"
segur build all --count 2 --seed "$seed" --out "$work/built" > /dev/null
segur build all --count 10 --seed $((seed + 88)) --out "$work/more" > /dev/null
python3 "$ans/mutate.py" --seed "$seed" --count "$count" --out "$work/mutants" \
  "$rules"/ExemplesCDA/*.xml "$work"/built/*.xml

OUT="$work/peer-auto" "$ans/run_peer.sh" "$work/mutants" > "$work/peer-auto.log" 2>&1 ||
  [ $? -eq 1 ] || { cat "$work/peer-auto.log"; exit 2; }
mkdir -p "$work/all"
cp "$work"/mutants/*.xml "$work"/more/*.xml "$work/all/"
PEER_SELECT=mapping OUT="$work/peer-mapping" "$ans/run_peer.sh" "$work/all" \
  > "$work/peer-mapping.log" 2>&1 ||
  [ $? -eq 1 ] || { cat "$work/peer-mapping.log"; exit 2; }

status=0
echo "schematrons by processing instruction, $count mutants (seed $seed):"
segur conformance compare-peer "$work/mutants" --peer-results "$work/peer-auto/failed.jsonl" \
  --xsd --verbose --rules "$rules" || status=1
echo "schematrons by templateId mapping, the mutants and $(ls "$work/more" | grep -c '\.xml$') built documents:"
segur conformance compare-peer "$work/all" --peer-results "$work/peer-mapping/failed.jsonl" \
  --xsd --verbose --select mapping --rules "$rules" || status=1
echo "work folder: $work"
exit $status
