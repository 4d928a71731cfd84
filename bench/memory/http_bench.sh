#!/usr/bin/env bash
# HTTP figures for issue 6, each beside its target: memory reads (get/search mix) and writes via the
# API with Redis, cache GET via the API with L1 miss / L2 hit, and redis-benchmark -t get on the same
# machine. The write figures run below the entry cap (--max-entries 1000000): writes at the cap
# also evict, which is measured separately (docs/sidecar.md). Needs a build with agentry-memory-testd, wrk, redis-server, redis-benchmark.
# Usage: bench/memory/http_bench.sh BUILD_DIR [SECONDS]
set -euo pipefail
BUILD=${1:?build dir}
SECS=${2:-10}
TESTD=$BUILD/agentry-memory-testd
[ -x "$TESTD" ] || TESTD=$BUILD/tests/agentry-memory-testd
[ -x "$TESTD" ] || { echo "no agentry-memory-testd under $BUILD (build the target first)" >&2; exit 2; }
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }
rps() { awk '/Requests\/sec/ {print $2}'; }
lat() { awk '/Latency/ {print $2" avg, "$4" max"; exit}'; }
# Between write rows: the first sidecar's indexer catches up with the previous row's writes, so
# each row starts on quiet cores (up to 8,192 vectors may be waiting for the graph).
settle() { sleep 3; }

# start_redis PORT DIR / start_testd PORT LOG ARGS...: in the background, until the port answers.
# The pid of the last one started is in STARTED.
start_redis() {
  mkdir -p "$2"
  redis-server --port "$1" --bind 127.0.0.1 --dir "$2" --appendonly yes --appendfsync always \
    --save '' --daemonize no --logfile "$2/redis.log" &
  STARTED=$!
  PIDS+=($STARTED)
  wait_port "$1"
}
start_testd() {
  local port=$1 log=$2
  shift 2
  "$TESTD" --port "$port" --max-entries 1000000 "$@" > "$log" 2>&1 &
  STARTED=$!
  PIDS+=($STARTED)
  wait_port "$port"
}

RPORT=$(free_port)
start_redis "$RPORT" "$WORK"
PORT=$(free_port)
start_testd "$PORT" "$WORK/testd.log" --redis "127.0.0.1:$RPORT" --l1-entries 16
BASE=http://127.0.0.1:$PORT

# 10,000 entries of text (embedded by the local embedder), in batches of 200.
python3 - "$BASE" <<'PY'
import json, sys, urllib.request, random
base = sys.argv[1]
words = "deploy rollout canary database migration cache redis latency alert incident pager queue worker batch retry timeout budget quota region zone node pod".split()
ids = []
rnd = random.Random(1)
for b in range(50):
    entries = [{"text": " ".join(rnd.choice(words) for _ in range(12)), "session": "s%d" % (i % 20)} for i in range(200)]
    req = urllib.request.Request(base + "/v1/memory", data=json.dumps({"entries": entries}).encode(), headers={"Content-Type": "application/json"})
    out = json.load(urllib.request.urlopen(req))
    ids += [e["id"] for e in out["entries"]]
open("/tmp/agentry-bench-ids.txt", "w").write("\n".join(ids))
for i in range(10000):
    req = urllib.request.Request(base + "/v1/cache/k%d?ttl=600" % i, data=b"v" * 100, method="PUT")
    urllib.request.urlopen(req).read()
PY

cat > "$WORK/reads.lua" <<'LUA'
local ids = {}
for line in io.lines("/tmp/agentry-bench-ids.txt") do ids[#ids + 1] = line end
local words = {"deploy", "canary", "database", "latency", "incident", "retry", "region", "pod"}
local n = 0
request = function()
  n = n + 1
  if n % 10 == 0 then
    local q = words[math.random(#words)] .. " " .. words[math.random(#words)]
    return wrk.format("POST", "/v1/memory/search", {["Content-Type"] = "application/json"},
                      '{"query":"' .. q .. '","k":5}')
  end
  return wrk.format("GET", "/v1/memory/" .. ids[math.random(#ids)])
end
LUA
cat > "$WORK/writes.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/v1/memory", {["Content-Type"] = "application/json"},
                    '{"text":"benchmark write ' .. n .. ' about canary rollouts","session":"bench"}')
end
LUA
cat > "$WORK/writes_batch.lua" <<'LUA'
local n = 0
request = function()
  local e = {}
  for i = 1, 20 do
    n = n + 1
    e[i] = '{"text":"benchmark write ' .. n .. ' about canary rollouts","session":"bench"}'
  end
  return wrk.format("POST", "/v1/memory", {["Content-Type"] = "application/json"},
                    '{"entries":[' .. table.concat(e, ",") .. ']}')
end
LUA
cat > "$WORK/cache.lua" <<'LUA'
request = function() return wrk.format("GET", "/v1/cache/k" .. math.random(0, 9999)) end
LUA

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores, shared)"
printf '| %-56s | %-34s | %-26s |\n' figure measured target
R=$(wrk -t1 -c8 -d"${SECS}s" --latency -s "$WORK/reads.lua" "$BASE" 2>&1)
printf '| %-56s | %-34s | %-26s |\n' "memory reads via the API (90% get, 10% text search)" "$(echo "$R" | rps) req/s ($(echo "$R" | lat))" ">= 50,000/s"
R=$(wrk -t1 -c8 -d"${SECS}s" "$BASE/v1/memory/$(head -1 /tmp/agentry-bench-ids.txt)" 2>&1)
printf '| %-56s | %-34s | %-26s |\n' "memory get via the API (one id)" "$(echo "$R" | rps) req/s" ">= 50,000/s"
R=$(wrk -t1 -c32 -d"${SECS}s" "$BASE/v1/memory/$(head -1 /tmp/agentry-bench-ids.txt)" 2>&1)
printf '| %-56s | %-34s | %-26s |\n' "  same with 32 connections" "$(echo "$R" | rps) req/s" ">= 50,000/s"
# The ceiling of this machine for any handler: the same server answering /healthz (no auth, no JSON).
R=$(wrk -t1 -c32 -d"${SECS}s" "$BASE/healthz" 2>&1)
printf '| %-56s | %-34s | %-26s |\n' "  for scale: GET /healthz, 32 connections" "$(echo "$R" | rps) req/s" "-"
R=$(wrk -t1 -c64 -d"${SECS}s" -s "$WORK/writes.lua" "$BASE" 2>&1)
printf '| %-56s | %-34s | %-26s |\n' "memory writes via the API (Redis, AOF fsync always, 64 conns)" "$(echo "$R" | rps) req/s ($(echo "$R" | lat))" ">= 10,000/s"
settle
R=$(wrk -t1 -c16 -d"${SECS}s" -s "$WORK/writes_batch.lua" "$BASE" 2>&1)
BATCH_RPS=$(echo "$R" | rps)
printf '| %-56s | %-34s | %-26s |\n' "memory writes via the API in batches of 20 (Redis, fsync always)" "$(python3 -c "print(round($BATCH_RPS * 20))") entries/s ($(echo "$R" | lat))" ">= 10,000/s"
settle
redis-cli -p "$RPORT" CONFIG SET appendfsync everysec > /dev/null
R=$(wrk -t1 -c64 -d"${SECS}s" -s "$WORK/writes.lua" "$BASE" 2>&1)
printf '| %-56s | %-34s | %-26s |\n' "  same with appendfsync everysec (up to 1 s of loss)" "$(echo "$R" | rps) req/s ($(echo "$R" | lat))" ">= 10,000/s"
redis-cli -p "$RPORT" CONFIG SET appendfsync always > /dev/null
# The write path's own ceiling on this machine: the same writes to a sidecar whose vector index is
# off (every search exact), so no HNSW insertion is paid. The gap to the row above is the index.
# Its own Redis: sharing the first one, the first sidecar would index these writes from the feed.
settle
R2PORT=$(free_port)
start_redis "$R2PORT" "$WORK/redis2"
R2PID=$STARTED
NPORT=$(free_port)
start_testd "$NPORT" "$WORK/testd-noindex.log" --redis "127.0.0.1:$R2PORT" --l1-entries 16 \
  --hnsw-min 1000000000
NPID=$STARTED
R=$(wrk -t1 -c64 -d"${SECS}s" -s "$WORK/writes.lua" "http://127.0.0.1:$NPORT" 2>&1)
printf '| %-56s | %-34s | %-26s |\n' "  for scale: same writes, vector index off (no HNSW)" "$(echo "$R" | rps) req/s ($(echo "$R" | lat))" "-"
kill "$NPID" "$R2PID" 2>/dev/null || true
settle
EPORT=$(free_port)
start_testd "$EPORT" "$WORK/testd-embedded.log" --dir "$WORK/embedded"
R=$(wrk -t1 -c64 -d"${SECS}s" -s "$WORK/writes.lua" "http://127.0.0.1:$EPORT" 2>&1)
printf '| %-56s | %-34s | %-26s |\n' "memory writes via the API (embedded log, fdatasync, 64 conns)" "$(echo "$R" | rps) req/s ($(echo "$R" | lat))" ">= 10,000/s"
settle
R=$(wrk -t1 -c8 -d"${SECS}s" -s "$WORK/cache.lua" "$BASE" 2>&1)
STATS=$(curl -s "$BASE/v1/cache")
printf '| %-56s | %-34s | %-26s |\n' "cache GET via the API, L1 miss / L2 hit" "$(echo "$R" | rps) req/s ($(echo "$R" | lat))" "beside redis-benchmark"
echo "  cache stats after: $(echo "$STATS" | python3 -c 'import json,sys; j=json.load(sys.stdin); print("l1 hits", j["l1"]["hits"], "l1 misses", j["l1"]["misses"], "l2 hits", j["l2"]["hits"])')"
RB=$(redis-benchmark -p "$RPORT" -t get -n 200000 -c 8 -q 2>&1 | tr '\r' '\n' | grep -E '^GET' | tail -1)
printf '| %-56s | %-34s | %-26s |\n' "redis-benchmark -t get (8 clients, same machine)" "$RB" "reference"
