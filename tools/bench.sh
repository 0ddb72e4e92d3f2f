#!/usr/bin/env bash
# Macro benchmark: Hematite against redis-server 7.0.15, same machine, same run.
#
# Each server runs alone, pinned with taskset to SERVER_CPU; redis-benchmark
# runs pinned to LOAD_CPU, so the load generator never steals the server's
# core. For each test (SET, GET, INCR, MSET of 10 keys) at pipeline depths 1
# and 16: throughput, p99 latency, and the server's CPU time per million
# operations (utime+stime from /proc/<pid>/stat). Then the RSS growth of each
# server after loading KEYS keys with 16-byte values (redis-cli --pipe).
# Results are printed as a Markdown table with Hematite/Redis ratios.
#
# usage: tools/bench.sh            (full run: N=1000000 requests per test)
#        N=2000 KEYS=10000 tools/bench.sh   (a quick sanity check)
# env:   N, KEYS, CLIENTS (50), RANGE (100000 random keys), SIZE (64),
#        SERVER_CPU (0), LOAD_CPU (1), REDIS_SERVER, RPORT (7210), HPORT (7211)
set -euo pipefail

N=${N:-1000000}
KEYS=${KEYS:-1000000}
CLIENTS=${CLIENTS:-50}
RANGE=${RANGE:-100000}
SIZE=${SIZE:-64}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
RPORT=${RPORT:-7210}
HPORT=${HPORT:-7211}
TESTS=(set get incr mset)
PIPES=(1 16)

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

echo "building release..." >&2
cargo build --release -p hematite --bin hematite-server >&2
HEMATITE=$root/target/release/hematite-server
TICKS=$(getconf CLK_TCK)

# Starts server $1 (redis|hematite) on port $2, pinned; sets $pid.
start() {
    local kind=$1 port=$2
    if [ "$kind" = redis ]; then
        taskset -c "$SERVER_CPU" "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
            --daemonize no >"$work/$kind.log" 2>&1 &
    else
        taskset -c "$SERVER_CPU" "$HEMATITE" --port "$port" --bind 127.0.0.1 >"$work/$kind.log" 2>&1 &
    fi
    pid=$!
    for _ in $(seq 100); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "$kind did not start; log:" >&2
    cat "$work/$kind.log" >&2
    exit 1
}

stop() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
}

# CPU ticks (user+system) the server has used so far.
cpu_ticks() {
    # Fields 14 and 15 of /proc/<pid>/stat; the name (field 2) has no spaces here.
    awk '{print $14 + $15}' "/proc/$pid/stat"
}

rss_kb() {
    awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"
}

# Runs one redis-benchmark test; prints "rps p99_ms cpu_ms_per_million" or "n/a n/a n/a".
bench_one() {
    local port=$1 test=$2 pipe=$3
    local before after out
    redis-cli -p "$port" flushall >/dev/null
    before=$(cpu_ticks)
    if ! out=$(taskset -c "$LOAD_CPU" redis-benchmark -p "$port" -c "$CLIENTS" -n "$N" -r "$RANGE" -d "$SIZE" \
        -P "$pipe" -t "$test" --csv 2>&1) || ! grep -q '^"[A-Z]' <<<"$out" || grep -qi 'err' <<<"$out"; then
        echo "n/a n/a n/a"
        return
    fi
    after=$(cpu_ticks)
    # "test","rps","avg","min","p50","p95","p99","max"
    awk -F'","' -v n="$N" -v d="$((after - before))" -v t="$TICKS" \
        'NR==2 { gsub(/"/, "", $2); gsub(/"/, "", $7); printf "%s %s %.1f\n", $2, $7, d * 1000 / t / n * 1000000 }' <<<"$out"
}

# Loads KEYS keys of 16 bytes through redis-cli --pipe; prints the RSS growth in KiB.
rss_growth() {
    local port=$1 before after
    before=$(rss_kb)
    python3 - "$KEYS" >"$work/load.resp" <<'EOF'
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
val = b"v" * 16
for i in range(n):
    k = b"key:%d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n%s\r\n" % (len(k), k, val))
EOF
    taskset -c "$LOAD_CPU" redis-cli -p "$port" --pipe <"$work/load.resp" >/dev/null
    local keys
    keys=$(redis-cli -p "$port" dbsize)
    [ "$keys" = "$KEYS" ] || echo "warning: $keys keys loaded, expected $KEYS" >&2
    after=$(rss_kb)
    echo $((after - before))
}

declare -A R
for kind in redis hematite; do
    port=$RPORT
    [ "$kind" = hematite ] && port=$HPORT
    start "$kind" "$port"
    for t in "${TESTS[@]}"; do
        for p in "${PIPES[@]}"; do
            echo "$kind $t -P $p ..." >&2
            R[$kind,$t,$p]=$(bench_one "$port" "$t" "$p")
        done
    done
    redis-cli -p "$port" flushall >/dev/null
    R[$kind,rss]=$(rss_growth "$port")
    stop
done

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.2f", a / b }'
}

echo
echo "Machine: $(nproc) CPUs, $(uname -srm); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "redis-benchmark -c $CLIENTS -n $N -r $RANGE -d $SIZE; servers on CPU $SERVER_CPU, load on CPU $LOAD_CPU"
echo
echo "| test | pipeline | Redis ops/s | Hematite ops/s | ratio | Redis p99 ms | Hematite p99 ms | ratio | Redis CPU ms/Mop | Hematite CPU ms/Mop |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for t in "${TESTS[@]}"; do
    for p in "${PIPES[@]}"; do
        read -r rr rp rc <<<"${R[redis,$t,$p]}"
        read -r hr hp hc <<<"${R[hematite,$t,$p]}"
        echo "| ${t^^} | $p | $rr | $hr | $(ratio "$hr" "$rr") | $rp | $hp | $(ratio "$hp" "$rp") | $rc | $hc |"
    done
done
echo
echo "| RSS growth for $KEYS keys of 16 bytes | Redis KiB | Hematite KiB | ratio |"
echo "|---|---|---|---|"
echo "| | ${R[redis,rss]} | ${R[hematite,rss]} | $(ratio "${R[hematite,rss]}" "${R[redis,rss]}") |"
