#!/usr/bin/env bash
# Issue 5, deliverable 4: a long replay (N ITI-41 documents, 10,000 by default) against
# `segur sink`, with the sink SIGKILLed in the middle and restarted on the same store. Then a
# second pass of the same N requests: the documents acknowledged before the kill are refused
# as duplicates, the others stored; a third pass resends what got no verdict in the second
# (a timeout, on a loaded machine). It checks that every acknowledged document is stored
# exactly once, and prints the figures of docs/PERFORMANCE.md.
#
# The per-request logs (--log) prove it: no document acknowledged in pass 1 is acknowledged
# again in pass 2 (it would be, had it been lost), each is refused there as a duplicate,
# and the index holds N distinct uniqueIds.
#
# Usage: scripts/long-run.sh [N] [KILL_AFTER_S]   (SEGUR=path/to/segur, default the release build)
set -euo pipefail
N=${1:-10000}
KILL_AFTER=${2:-4}
SEGUR=${SEGUR:-$(cd "$(dirname "$0")/.." && pwd)/target/release/segur}
PORT=${PORT:-18443}
WORK=$(mktemp -d)
trap 'kill "${SINK:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
cd "$WORK"

"$SEGUR" pki init pki --clients 8 >/dev/null
t0=$(date +%s.%N)
"$SEGUR" build cr-bio --count "$N" --seed 5 --out docs >/dev/null
mkdir req
ls docs | xargs -P 2 -I{} "$SEGUR" package iti41 docs/{} --out req/{}.mtom >/dev/null
t1=$(date +%s.%N)
echo "built and packaged $(ls req | wc -l) ITI-41 requests in $(echo "$t1 - $t0" | bc) s"

cat > sink.toml <<TOML
listen = "127.0.0.1:$PORT"
cert = "pki/server/localhost.chain.pem"
key = "pki/server/localhost.key"
client_roots = "pki/ca/root.pem"
store = "store"
# The default workers (4): each connection has its own thread, so kept-alive client
# connections (and nginx's upstream pool) beyond the workers do not stall.
TOML
cat > replay.toml <<TOML
[[endpoint]]
name = "sink"
url = "https://localhost:$PORT/iti41"
kind = "iti41"
roots = "pki/ca/root.pem"
pool_dir = "pki/clients"
connect_timeout_s = 2
timeout_s = 60
TOML
start_sink() {
  "$SEGUR" sink --config sink.toml > "sink-$1.log" 2>&1 &
  SINK=$!
  for _ in $(seq 100); do grep -q https:// "sink-$1.log" 2>/dev/null && return; sleep 0.05; done
  echo "the sink did not start"; cat "sink-$1.log"; exit 3
}

start_sink 1
"$SEGUR" replay --config replay.toml --dir req --users 8 --count "$N" --quiet --log pass1.jsonl --format json > pass1.json &
REPLAY=$!
sleep "$KILL_AFTER"
stored_at_kill=$(wc -l < store/index.jsonl)
kill -KILL "$SINK"; wait "$SINK" 2>/dev/null || true
echo "SIGKILL of the sink after ${KILL_AFTER} s, ${stored_at_kill} index lines"
sleep 1
start_sink 2
wait "$REPLAY" || true
"$SEGUR" replay --config replay.toml --dir req --users 8 --count "$N" --quiet --log pass2.jsonl --format json > pass2.json || true
# Pass 3, as a client retrying what got no verdict in pass 2 (timeouts, say): those files only.
mkdir rest
python3 -c '
import json
for l in open("pass2.jsonl"):
    o = json.loads(l)
    if not o["ok"] and o["error"] != "registry-failure":
        print(o["file"])' | while read -r f; do cp "req/$f" rest/; done
REST=$(ls rest | wc -l)
if [ "$REST" -gt 0 ]; then
  "$SEGUR" replay --config replay.toml --dir rest --users 8 --count "$REST" --quiet --log pass3.jsonl \
    --format json > pass3.json || true
else
  : > pass3.jsonl
fi
kill -TERM "$SINK"; wait "$SINK" 2>/dev/null || true

python3 - "$N" <<'PY'
import json, sys
n = int(sys.argv[1])
p1, p2 = (json.load(open(f)) for f in ("pass1.json", "pass2.json"))
ids = []
for line in open("store/index.jsonl"):
    try:
        ids.append(json.loads(line)["unique_id"])
    except (ValueError, KeyError):
        pass  # a torn last line, cut at restart
def errors(p): return ", ".join(f"{e['kind']} x{e['count']}" for e in p["errors"]) or "none"
for name, p in (("pass 1 (sink killed)", p1), ("pass 2 (all again)", p2)):
    l = p["latency"]
    print(f"{name}: {p['requests']} requests in {p['elapsed_s']:.1f} s "
          f"({p['throughput_rps']:.0f}/s), ok {p['ok']}, errors: {errors(p)}; "
          f"{p['handshakes']} handshakes, {p['reconnects']} reconnected; latency ms "
          f"p50 {l['p50_us']/1000:.1f} p90 {l['p90_us']/1000:.1f} p99 {l['p99_us']/1000:.1f} "
          f"p99.9 {l['p999_us']/1000:.1f} max {l['max_us']/1000:.1f}")
def outcomes(f): return [json.loads(l) for l in open(f)]
o1, o2, o3 = outcomes("pass1.jsonl"), outcomes("pass2.jsonl"), outcomes("pass3.jsonl")
acked1 = {o["file"] for o in o1 if o["ok"]}
acked_later = {o["file"] for o in o2 + o3 if o["ok"]}
dup_later = {o["file"] for o in o2 + o3 if o["error"] == "registry-failure"}
print(f"pass 3 (what got no verdict in pass 2): {len(o3)} requests, "
      f"{sum(o['ok'] for o in o3)} ok")
print(f"index: {len(ids)} records, {len(set(ids))} distinct uniqueIds; acknowledged "
      f"{len(acked1)} in pass 1 and {len(acked_later)} later; {len(dup_later)} refused as duplicates later")
assert len(o1) == n and len(o2) == n, "a request without an outcome"
assert len(ids) == len(set(ids)), "a document stored twice"
assert len(ids) == n, f"{n - len(ids)} documents missing from the store"
# A document acknowledged in pass 1 and lost would be stored (and acknowledged) again later.
assert not acked1 & acked_later, f"acknowledged, then lost: {sorted(acked1 & acked_later)[:5]}"
assert acked1 <= dup_later, "an acknowledged document not found as a duplicate later"
print(f"OK: every acknowledged document stored exactly once "
      f"({len(dup_later) - len(acked1)} stored though their answer was lost to the kill)")
PY
