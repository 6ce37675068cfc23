#!/usr/bin/env bash
# Issue 5, deliverable 5: the replay client's sustained rate on loopback with mutual TLS and
# keep-alive, compared in the same run with wrk (Debian's `wrk`, which cannot present a client
# certificate).
#
# Both tools send the same ITI-41 request (one CR-BIO document, ~38 KB) with the same
# concurrency, through the same nginx, to the same `segur sink`:
#  - wrk to an nginx port without client verification;
#  - segur replay to an nginx port with `ssl_verify_client on`, presenting its pool.
# nginx proxies both to the sink over mutual TLS with kept-alive upstream connections. After the
# first, every request is a duplicate: the sink unpacks and checks it, and refuses it with a
# RegistryResponse Failure. The server-side work per request is therefore the same for both
# tools; what differs is the client.
#
# The same against distinct documents, each stored: wrk cycles through prepared ITI-41
# requests of distinct CR-BIO documents (DISTINCT of them, default 12,000: each sent once in a
# run shorter than DISTINCT / rate), as segur replay builds, validates and sends distinct
# documents; the sink then does the same work for both tools (unpack, validate, store).
#
# Then segur replay alone against the sink directly: distinct documents, each stored (fsync),
# with keep-alive and without.
#
# Usage: scripts/bench-replay.sh [SECONDS] [CONNECTIONS]   (SEGUR=..., default the release build;
# RULES=..., default ../shared/ans/testcontenucda; STORE_DIR=..., the sink's store, default in
# the work directory)
set -euo pipefail
SECS=${1:-10}
CONN=${2:-8}
SEGUR=${SEGUR:-$(cd "$(dirname "$0")/.." && pwd)/target/release/segur}
RULES=${RULES:-$(cd "$(dirname "$0")/../.." && pwd)/shared/ans/testcontenucda}
WORK=$(mktemp -d)
trap 'kill ${NGINX:-} ${SINK:-} 2>/dev/null || true; rm -rf "$WORK"' EXIT
cd "$WORK"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SINK_PORT=$(free_port); OPEN_PORT=$(free_port); MTLS_PORT=$(free_port)

"$SEGUR" pki init pki --clients "$CONN" >/dev/null
"$SEGUR" build cr-bio --count 2400 --seed 9 --out docs >/dev/null
mkdir one many
"$SEGUR" build cr-bio --count 1 --seed 99 --out one-doc >/dev/null
"$SEGUR" package iti41 one-doc/*.xml --out one/one.mtom >/dev/null
ls docs | xargs -P 2 -I{} "$SEGUR" package iti41 docs/{} --out many/{}.mtom >/dev/null
mkdir many2 warm; ls many | tail -1000 | xargs -I{} mv many/{} many2/
ls many | tail -400 | xargs -I{} mv many/{} warm/
DISTINCT=${DISTINCT:-12000}
"$SEGUR" build cr-bio --count "$DISTINCT" --seed 7 --out ddocs >/dev/null
mkdir distinct
ls ddocs | xargs -P 2 -n 200 sh -c 'for f; do "$0" package iti41 "ddocs/$f" --out "distinct/$f.mtom"; done' "$SEGUR" >/dev/null
# wrk's request: the capture's Content-Type and SOAPAction headers, and its body.
python3 - <<'PY'
raw = open("one/one.mtom", "rb").read()
head, body = raw.split(b"\r\n\r\n", 1)
fields = dict(l.split(": ", 1) for l in head.decode().split("\r\n") if ": " in l)
open("body.bin", "wb").write(body)
import os
lua = ['wrk.method = "POST"',
       'local f = assert(io.open([[%s/body.bin]], "rb")); wrk.body = f:read("*a"); f:close()' % os.getcwd(),
       'wrk.headers["Content-Type"] = [[%s]]' % fields["Content-Type"],
       'wrk.headers["SOAPAction"] = [[%s]]' % fields["SOAPAction"]]
open("post.lua", "w").write("\n".join(lua) + "\n")
# wrk over distinct requests: each thread takes every other one, in turn, once each (and
# wraps around, sending duplicates, past the end: the summary reports how many it sent).
names = sorted(os.listdir("distinct"))
with open("distinct.list", "w") as f:
    for n in names:
        f.write(os.path.join(os.getcwd(), "distinct", n) + "\n")
open("distinct.lua", "w").write('''
local threads = {}
function setup(thread) thread:set("id", #threads); table.insert(threads, thread) end
function init(args)
  reqs = {}
  local k = 0
  for path in io.lines([[%s/distinct.list]]) do
    if k %% 2 == id then
      local f = assert(io.open(path, "rb")); local raw = f:read("*a"); f:close()
      local s, e = raw:find("\\r\\n\\r\\n", 1, true)
      local head, body = raw:sub(1, s - 1), raw:sub(e + 1)
      local h = {}
      for line in head:gmatch("[^\\r\\n]+") do
        local name, value = line:match("^([^:]+): (.*)$")
        if name == "Content-Type" or name == "SOAPAction" then h[name] = value end
      end
      table.insert(reqs, wrk.format("POST", nil, h, body))
    end
    k = k + 1
  end
  i = 0
end
function request() i = i + 1; return reqs[(i - 1) %% #reqs + 1] end
''' % os.getcwd())
PY

cat > sink.toml <<TOML
listen = "127.0.0.1:$SINK_PORT"
cert = "pki/server/localhost.chain.pem"
key = "pki/server/localhost.key"
client_roots = "pki/ca/root.pem"
store = "${STORE_DIR:-store}"
# The default workers (4): each connection has its own thread, so kept-alive client
# connections (and nginx's upstream pool) beyond the workers do not stall.
TOML
"$SEGUR" sink --config sink.toml > sink.log 2>&1 &
SINK=$!
P=$PWD
mkdir -p nginx/logs
cat > nginx/nginx.conf <<NGINX
daemon off; master_process off; worker_processes 1;
pid $P/nginx/nginx.pid; error_log $P/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $P/nginx/body; proxy_temp_path $P/nginx/proxy;
  fastcgi_temp_path $P/nginx/fastcgi; uwsgi_temp_path $P/nginx/uwsgi; scgi_temp_path $P/nginx/scgi;
  client_max_body_size 64m; client_body_buffer_size 1m;
  ssl_certificate $P/pki/server/localhost.chain.pem; ssl_certificate_key $P/pki/server/localhost.key;
  upstream sink { server 127.0.0.1:$SINK_PORT; keepalive 32; }
  proxy_http_version 1.1; proxy_set_header Connection "";
  proxy_ssl_certificate $P/pki/clients/client-001.chain.pem;
  proxy_ssl_certificate_key $P/pki/clients/client-001.key;
  proxy_ssl_trusted_certificate $P/pki/ca/root.pem; proxy_ssl_verify on; proxy_ssl_name localhost;
  server { listen 127.0.0.1:$OPEN_PORT ssl; location / { proxy_pass https://sink; } }
  server { listen 127.0.0.1:$MTLS_PORT ssl; ssl_client_certificate $P/pki/ca/root.pem;
           ssl_verify_client on; location / { proxy_pass https://sink; } }
}
NGINX
nginx -p "$P/nginx" -c "$P/nginx/nginx.conf" -e "$P/nginx/logs/error.log" &
NGINX=$!
sleep 1
endpoint() {
  cat > "replay-$1.toml" <<TOML
[[endpoint]]
name = "$1"
url = "https://localhost:$2/iti41"
kind = "iti41"
roots = "pki/ca/root.pem"
pool_dir = "pki/clients"
TOML
}
endpoint nginx "$MTLS_PORT"
endpoint sink "$SINK_PORT"
# Store the request once, so that every later one is the same duplicate for both tools.
"$SEGUR" replay --config replay-sink.toml --dir one --users 1 --count 1 --quiet >/dev/null

summary() {
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); l=r["latency"]
print("%-34s %7.0f req/s  p50 %5.1f ms  p99 %5.1f ms  max %7.1f ms  (%d requests, %d handshakes, %s)" % (sys.argv[2],
 r["throughput_rps"], l["p50_us"]/1e3, l["p99_us"]/1e3, l["max_us"]/1e3, r["requests"], r["handshakes"],
 ", ".join("%s x%d" % (e["kind"], e["count"]) for e in r["errors"]) or "all ok"))' "$@"
}
wrk_summary() {
  python3 - "$@" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)
n = re.search(r"(\d+) requests in", t).group(1)
p50 = re.search(r"^\s+50%\s+(\S+)", t, re.M).group(1); p99 = re.search(r"^\s+99%\s+(\S+)", t, re.M).group(1)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print("%-34s %7.0f req/s  p50 %s  p99 %s  (%s requests, non-2xx: %s)"
      % (sys.argv[2], float(rps), p50, p99, n, non2xx.group(1) if non2xx else 0))
PY
}
echo "nginx ${SECS}s runs, $CONN connections, the same duplicate ITI-41 request:"
for round in 1 2; do
  "$SEGUR" replay --config replay-nginx.toml --dir one --users "$CONN" --duration "${SECS}s" \
    --quiet --format json > "replay-$round.json" || true
  summary "replay-$round.json" "  round $round segur replay (mTLS)"
  "$SEGUR" replay --config replay-nginx.toml --dir one --users "$CONN" --duration "${SECS}s" \
    --no-keep-alive --quiet --format json > "replay-noka-$round.json" || true
  summary "replay-noka-$round.json" "  round $round replay, no keep-alive"
  # Each request a new CR-BIO document, built, validated with the full official rule set
  # (--validate) and packaged by the sending user; the sink stores each (put its store on
  # tmpfs with STORE_DIR=/dev/shm/... so that fsyncs do not decide).
  "$SEGUR" replay --config replay-nginx.toml --build cr-bio --seed $((100000 * round)) --validate \
    --rules "$RULES" --users "$CONN" --duration "${SECS}s" --quiet --format json > "replay-val-$round.json" || true
  summary "replay-val-$round.json" "  round $round replay, built+validated"
  "$SEGUR" replay --config replay-nginx.toml --build cr-bio --seed $((100000 * round + 50000)) \
    --users "$CONN" --duration "${SECS}s" --quiet --format json > "replay-built-$round.json" || true
  summary "replay-built-$round.json" "  round $round replay, built only"
  wrk -t 2 -c "$CONN" -d "${SECS}s" --latency -s post.lua "https://localhost:$OPEN_PORT/iti41" > "wrk-$round.txt"
  wrk_summary "wrk-$round.txt" "  round $round wrk (server TLS only)"
  if [ "$round" = 1 ]; then
    # Once: the distinct requests are stored by this run, and would be duplicates in a second.
    wrk -t 2 -c "$CONN" -d "${SECS}s" --latency -s distinct.lua "https://localhost:$OPEN_PORT/iti41" > wrk-distinct.txt
    wrk_summary wrk-distinct.txt "  round 1 wrk, distinct documents"
  fi
done
echo "segur replay straight to the sink, distinct documents, each stored:"
sync  # the packaging above wrote ~90 MB: let its writeback not stall the first run
# The first stored documents of a run are slow whatever the connection mode (measured: 228
# req/s for a first run without keep-alive, 497 for the same run third): warm up first.
"$SEGUR" replay --config replay-sink.toml --dir warm --users "$CONN" --count 400 --quiet >/dev/null 2>&1 || true
"$SEGUR" replay --config replay-sink.toml --dir many --users "$CONN" --count 1000 --quiet --format json > ka.json || true
summary ka.json "  keep-alive"
"$SEGUR" replay --config replay-sink.toml --dir many2 --users "$CONN" --count 1000 --quiet --format json \
  --no-keep-alive > noka.json 2>/dev/null || true
summary noka.json "  a new connection per request"
# The open model at a rate below that capacity: corrected and raw latency.
"$SEGUR" build cr-bio --count 600 --seed 19 --out docs3 >/dev/null
mkdir many3
ls docs3 | xargs -P 2 -I{} "$SEGUR" package iti41 docs3/{} --out many3/{}.mtom >/dev/null
"$SEGUR" replay --config replay-sink.toml --dir many3 --users "$CONN" --rate 40 --duration 10s --quiet \
  --format json > open.json 2>/dev/null || true
python3 - <<'PY'
import json
r = json.load(open("open.json")); c = r["latency_corrected"]; l = r["latency"]
print("  open model, 40/s for 10 s: %d requests, ok %d; corrected p50 %.1f p99 %.1f max %.1f ms; "
      "raw p50 %.1f p99 %.1f max %.1f ms" % (r["requests"], r["ok"], c["p50_us"] / 1e3,
      c["p99_us"] / 1e3, c["max_us"] / 1e3, l["p50_us"] / 1e3, l["p99_us"] / 1e3, l["max_us"] / 1e3))
PY
