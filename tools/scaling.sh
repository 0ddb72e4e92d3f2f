#!/usr/bin/env bash
# Multi-core check: Hematite and redis-server 7.0.15 unpinned, with every
# core of the machine, against a multi-threaded redis-benchmark that also
# runs unpinned (so on a small machine the three compete for the same
# cores). Prints requests per second, the server's CPU time per request and
# how many cores the server kept busy on average (CPU time / wall time).
# Redis serves commands on one thread, so it cannot use more than about one
# core (plus kernel work); Hematite serves connections on all cores.
#
# usage: tools/scaling.sh [TESTS] [PIPE]        (default: get,set 16)
# env: N (2000000 requests), CLIENTS (100), THREADS (number of cores),
#      RPORT (7212), HPORT (7213), NO_BUILD, REDIS_SERVER (redis-server)
set -euo pipefail

TESTS=${1:-get,set}
PIPE=${2:-16}
N=${N:-2000000}
CLIENTS=${CLIENTS:-100}
THREADS=${THREADS:-$(nproc)}
RPORT=${RPORT:-7212}
HPORT=${HPORT:-7213}
REDIS_SERVER=${REDIS_SERVER:-redis-server}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ -z "${NO_BUILD:-}" ]; then
    cargo build --release -p hematite --bin hematite-server >&2
fi
pid=""
cleanup() { [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; }
trap cleanup EXIT

ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }

echo "$(nproc) cores, $CLIENTS clients, redis-benchmark --threads $THREADS, pipeline $PIPE, $N requests per test"
printf '%-10s %-5s %12s %12s %8s\n' server test ops/s cpu_ns/op cores
for kind in redis hematite; do
    if [ "$kind" = redis ]; then
        port=$RPORT
        "$REDIS_SERVER" --port "$port" --save '' --appendonly no >/dev/null 2>&1 &
    else
        port=$HPORT
        target/release/hematite-server --port "$port" --save '' --appendonly no >/dev/null 2>&1 &
    fi
    pid=$!
    for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    redis-benchmark -p "$port" -c "$CLIENTS" -n 200000 -r 100000 -d 64 -P "$PIPE" -t set -q >/dev/null
    for t in ${TESTS//,/ }; do
        t0=$(date +%s.%N)
        c0=$(ticks)
        out=$(redis-benchmark -p "$port" -c "$CLIENTS" -n "$N" -r 100000 -d 64 -P "$PIPE" --threads "$THREADS" -q -t "$t" |
            tr '\r' '\n' | grep 'per second' | tail -1)
        c1=$(ticks)
        t1=$(date +%s.%N)
        rps=$(sed 's/.*: //; s/ requests.*//' <<<"$out")
        hz=$(getconf CLK_TCK)
        awk -v k="$kind" -v t="$t" -v r="$rps" -v c=$((c1 - c0)) -v hz="$hz" -v n="$N" -v t0="$t0" -v t1="$t1" \
            'BEGIN { w = t1 - t0; printf "%-10s %-5s %12.0f %12.0f %8.2f\n", k, t, r, c / hz * 1e9 / n, c / hz / w }'
    done
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
done
