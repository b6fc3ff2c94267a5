#!/usr/bin/env bash
# Front-end benchmark of `vireo serve` (figures, not a test):
#   1. requests/s of GET /v1/models and POST /tokenize (short text), server
#      pinned to one core, wrk on another, keep-alive connections;
#   2. time from process start to the first /health 200 on a model folder.
# usage: bench_server.sh VIREO_BIN MODEL_DIR [STARTUP_MODEL_DIR]
set -euo pipefail
BIN=${1:?vireo binary}
MODEL=${2:?model folder for the request benchmark}
STARTUP_MODEL=${3:-$MODEL}
DURATION=${DURATION:-5}
CONNS=${CONNS:-64}
PORT=${PORT:-$((20000 + RANDOM % 20000))}
NCPU=$(nproc)
SERVER_CPU=0
CLIENT_CPU=$((NCPU > 1 ? 1 : 0))
for tool in wrk curl taskset; do command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 2; }; done

tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

wait_health() { # port -> waits for 200
    for _ in $(seq 1 3000); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/health" 2>/dev/null)" = 200 ] && return 0
        sleep 0.002
    done
    return 1
}

echo "== request throughput: server on cpu $SERVER_CPU, wrk -t1 -c$CONNS -d${DURATION}s on cpu $CLIENT_CPU"
taskset -c $SERVER_CPU "$BIN" serve "$MODEL" --host 127.0.0.1 --port "$PORT" --disable-log-requests \
    --disable-log-stats --num-threads 1 --quiet >"$tmp/server.log" 2>&1 &
pid=$!
wait_health "$PORT" || { cat "$tmp/server.log"; exit 1; }
cat >"$tmp/tokenize.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"prompt":"Hello, world! How are you today?"}'
wrk.headers["Content-Type"] = "application/json"
LUA
taskset -c $CLIENT_CPU wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$PORT/v1/models" >/dev/null # warm-up
# Server CPU seconds (user+sys) from /proc: req/s per busy core stays
# meaningful when other processes share the machine.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.3f", ($14 + $15) / hz}' "/proc/$pid/stat"; }
for route in models tokenize; do
    c0=$(cpu_s)
    if [ $route = models ]; then
        out=$(taskset -c $CLIENT_CPU wrk -t1 -c"$CONNS" -d"${DURATION}s" "http://127.0.0.1:$PORT/v1/models")
    else
        out=$(taskset -c $CLIENT_CPU wrk -t1 -c"$CONNS" -d"${DURATION}s" -s "$tmp/tokenize.lua" "http://127.0.0.1:$PORT/tokenize")
    fi
    c1=$(cpu_s)
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    total=$(echo "$out" | awk '/requests in/ {print $1}')
    per_core=$(awk -v n="$total" -v a="$c0" -v b="$c1" 'BEGIN { if (b > a) printf "%.0f", n / (b - a); else print "?" }')
    errs=$(echo "$out" | grep -E "Non-2xx|Socket errors" || true)
    lat=$(echo "$out" | awk '/Latency/ {print $2}')
    echo "$route: $rps req/s wall (avg latency $lat), $per_core req per server CPU-second ${errs:+[$errs]}"
done
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=

echo "== startup: process start -> first /health 200 ($STARTUP_MODEL)"
for i in 1 2 3; do
    PORT=$((PORT + 1))
    t0=$(date +%s%N)
    "$BIN" serve "$STARTUP_MODEL" --host 127.0.0.1 --port "$PORT" --quiet --disable-log-stats >"$tmp/s.log" 2>&1 &
    pid=$!
    wait_health "$PORT" || { cat "$tmp/s.log"; exit 1; }
    t1=$(date +%s%N)
    echo "run $i: $(( (t1 - t0) / 1000000 )) ms"
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
done
