#!/usr/bin/env bash
# Macro benchmark: Hematite against redis-server 7.0.15, same machine, same run.
#
# Both servers run side by side, each pinned with taskset to SERVER_CPU, and
# every measurement is made against one of them while the other idles; the
# load generators (redis-benchmark, hematite-load, tools/bench_load.py) run
# pinned to LOAD_CPU, so they never steal the server's core. Each row is
# measured ROUNDS times per server, the two taking turns row by row (Redis
# first in odd rounds, Hematite first in even ones), so that a machine whose
# speed drifts over minutes (a shared VM) gives both the same share. Both servers run with the same settings
# (--save '' --appendonly no, 127.0.0.1 only). Per throughput test, at
# pipeline depths 1 and 16: requests per second, p99 latency, and the
# server's CPU time per million requests (utime+stime from /proc/<pid>/stat).
# Per memory test: the RSS growth (VmRSS from /proc/<pid>/status) of a fresh
# server while a data set is bulk-loaded through `redis-cli --pipe`.
# Every figure is printed beside its Hematite/Redis ratio, one table per
# section; see docs/benchmarks.md for the method.
#
# usage: tools/bench.sh [SECTION,...]
#   sections: foundation collections probabilistic scripting messaging (default: all)
#   tools/bench.sh                                         full run
#   BENCH_N=2000 BENCH_SCALE=0.01 tools/bench.sh           quick check
#   BENCH_MD=docs/benchmarks.md tools/bench.sh             also append the tables there
# env:
#   BENCH_N (1000000)      requests per redis-benchmark test; heavy commands
#                          (LRANGE/ZRANGE of 100, BITCOUNT of 1 MB, GEOSEARCH,
#                          PFCOUNT of 3 keys) and the hematite-load tests
#                          (MULTI/EXEC, XREADGROUP+XACK) run BENCH_N/10
#   BENCH_SCALE (1)        multiplies every data-set size (1,000,000 keys ...)
#   BENCH_MD               file to append the Markdown tables to (with a dated heading)
#   ROUNDS (1)             measurements of every row per server, the servers
#                          taking turns within the row (Redis first in odd
#                          rounds, Hematite first in even ones); each figure
#                          printed is the median of the rounds, and the
#                          throughput ratio is the median of the per-round
#                          ratios, so drift in the machine's speed cancels out.
#                          Memory rows: ROUNDS fresh servers of each kind.
#   CLIENTS (50), RANGE (100000 random keys), SIZE (64-byte values),
#   LOADGEN (redis-benchmark): the generator of the redis-benchmark rows;
#                          hematite-load runs the same commands through
#                          `hematite-load cmd` (same key and value shapes), at
#                          about half redis-benchmark's own cost per request,
#                          so that at pipeline 1 the servers, not the
#                          generator, are the limit (memory rows unchanged)
#   SERVER_CPU (0), LOAD_CPU (1), REDIS_SERVER (redis-server),
#   PGO (1): measure the profile-guided build (tools/pgo-build.sh, the
#                          release build to run in production); 0: the plain
#                          `cargo build --release`
#   RPORT (7210), HPORT (7211), NO_BUILD (set: skip the builds; with PGO=1
#                          the last profile-guided build is used)
set -euo pipefail

N=${BENCH_N:-${N:-1000000}}
SCALE=${BENCH_SCALE:-1}
CLIENTS=${CLIENTS:-50}
RANGE=${RANGE:-100000}
SIZE=${SIZE:-64}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
RPORT=${RPORT:-7210}
HPORT=${HPORT:-7211}
MD=${BENCH_MD:-}
ROUNDS=${ROUNDS:-1}
LOADGEN=${LOADGEN:-redis-benchmark}
PGO=${PGO:-1}
case $LOADGEN in redis-benchmark | hematite-load) ;; *) echo "LOADGEN: redis-benchmark or hematite-load" >&2; exit 2 ;; esac
ALL_SECTIONS="foundation collections probabilistic scripting messaging"
SECTIONS=${1:-$ALL_SECTIONS}
SECTIONS=${SECTIONS//,/ }
PIPES=(1 16)
HEAVY_N=$(((N + 9) / 10))

for s in $SECTIONS; do
    case " $ALL_SECTIONS " in *" $s "*) ;; *) echo "unknown section '$s' (have: $ALL_SECTIONS)" >&2; exit 2 ;; esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
LOADPY=$root/tools/bench_load.py
LOADBIN=$root/target/release/hematite-load
work=$(mktemp -d)
pid=""
port=""
kind=""
fg=""
bgpids=()
declare -A PID_OF PORT_OF=([redis]=$RPORT [hematite]=$HPORT)
cleanup() {
    [ -z "$fg" ] || kill "$fg" 2>/dev/null || true
    for p in "${bgpids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PID_OF[@]}"; do
        [ -n "$p" ] || continue
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

HEMATITE=$root/target/release/hematite-server
[ "$PGO" = 1 ] && HEMATITE=$root/target/pgo/use/release/hematite-server
if [ -z "${NO_BUILD:-}" ]; then
    echo "building release..." >&2
    cargo build --release -p hematite --bin hematite-server -p hematite-benches --bin hematite-load >&2
    if [ "$PGO" = 1 ]; then
        echo "building the profile-guided release (tools/pgo-build.sh)..." >&2
        HEMATITE=$("$root/tools/pgo-build.sh")
    fi
fi
[ -x "$HEMATITE" ] || { echo "no $HEMATITE: build it (run without NO_BUILD) or set PGO=0" >&2; exit 1; }
echo "hematite-server: $HEMATITE" >&2
TICKS=$(getconf CLK_TCK)

# A data-set size scaled by BENCH_SCALE (at least 1).
scaled() {
    awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s); print (v < 1 ? 1 : v) }'
}

# use KIND: makes server KIND (redis|hematite) the current one ($kind, $pid, $port).
use() {
    kind=$1
    port=${PORT_OF[$kind]}
    pid=${PID_OF[$kind]:-}
}

# each CMD...: runs CMD once with each server as the current one.
each() {
    local k
    for k in redis hematite; do
        use "$k"
        "$@"
    done
}

# The servers in the order of round $1: Redis first in odd rounds.
order() {
    if [ $(($1 % 2)) = 1 ]; then echo "redis hematite"; else echo "hematite redis"; fi
}

# Starts server $1 (redis|hematite), fresh and empty, and makes it current.
start() {
    use "$1"
    if [ "$kind" = redis ]; then
        taskset -c "$SERVER_CPU" "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
            --daemonize no --dir "$work" >"$work/$kind.log" 2>&1 &
    else
        taskset -c "$SERVER_CPU" "$HEMATITE" --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
            --dir "$work" >"$work/$kind.log" 2>&1 &
    fi
    pid=$!
    PID_OF[$kind]=$pid
    for _ in $(seq 100); do
        redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "$kind did not start; log:" >&2
    cat "$work/$kind.log" >&2
    exit 1
}

# Stops the current server.
stop() {
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
    PID_OF[$kind]=""
}

# run OUT CMD...: runs CMD with its output in file OUT (input from $STDIN or
# nothing), in the background so that Ctrl-C and TERM reach the cleanup trap
# at once; returns CMD's status.
run() {
    local out=$1
    shift
    "$@" <"${STDIN:-/dev/null}" >"$out" 2>&1 &
    fg=$!
    local rc=0
    wait "$fg" || rc=$?
    fg=""
    return $rc
}

cli() {
    redis-cli -h 127.0.0.1 -p "$port" "$@"
}

# CPU ticks (user+system) the server has used so far.
cpu_ticks() {
    # Fields 14 and 15 of /proc/<pid>/stat; the name (field 2) has no spaces here.
    awk '{print $14 + $15}' "/proc/$pid/stat"
}

rss_kb() {
    awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"
}

# True if redis-cli printed an error reply.
is_error() {
    grep -qE '^(ERR|WRONGTYPE|NOSCRIPT|NOGROUP|BUSY|EXECABORT|NOPERM|NOAUTH|MOVED|OOM)( |$)' <<<"$1"
}

# Bulk-loads data set $1 of $2 elements into the current server through
# redis-cli --pipe; warns on errors. The commands are generated once per set.
load() {
    local out data=$work/data-$1-$2.resp
    [ -s "$data" ] || run "$data" python3 "$LOADPY" gen "$1" "$2"
    STDIN=$data run "$work/load.out" taskset -c "$LOAD_CPU" redis-cli -h 127.0.0.1 -p "$port" --pipe || true
    out=$(tail -1 "$work/load.out")
    grep -q 'errors: 0,' <<<"$out" || echo "warning: loading $1 on $kind: $out" >&2
}

# Results: R[kind,id,pipe] = "rps p99 cpu" per round, rounds separated by
# ';'; M[kind,id] = KiB per round, likewise.
declare -A R M LABEL MLABEL ROWS MROWS PIPES_OF SKIP

# rec ARRAY KEY VALUE: appends one round's VALUE to ARRAY[KEY].
rec() {
    local -n arr=$1
    arr[$2]="${arr[$2]:-}${arr[$2]:+;}$3"
}

# med "a b c;d e f;...": the median of each field over the rounds (n/a
# values ignored; n/a when none is a number).
med() {
    awk -v s="$1" 'BEGIN {
        n = split(s, rounds, ";"); nf = 0
        for (r = 1; r <= n; r++) { k = split(rounds[r], f, " "); if (k > nf) nf = k
            for (i = 1; i <= k; i++) if (f[i] != "n/a" && f[i] != "") { c[i]++; v[i, c[i]] = f[i] + 0 } }
        out = ""
        for (i = 1; i <= nf; i++) {
            if (!c[i]) { x = "n/a" } else {
                for (a = 1; a <= c[i]; a++) for (b = a + 1; b <= c[i]; b++) if (v[i, b] < v[i, a]) { t = v[i, a]; v[i, a] = v[i, b]; v[i, b] = t }
                m = (c[i] % 2) ? v[i, (c[i] + 1) / 2] : (v[i, c[i] / 2] + v[i, c[i] / 2 + 1]) / 2
                x = sprintf(i == 2 ? "%.3f" : (i == 3 ? "%.1f" : "%.2f"), m)
            }
            out = out (i > 1 ? " " : "") x
        }
        print out
    }'
}

# Registers a throughput row once per section (the first server to run it).
row() {
    local id=$1
    if [ -z "${LABEL[$id]:-}" ]; then
        LABEL[$id]=$2
        PIPES_OF[$id]=$3
        ROWS[$section]="${ROWS[$section]:-} $id"
    fi
}

# Turns the CPU tick delta of $1 requests into "ms of CPU per million requests".
cpu_per_mop() {
    awk -v d="$2" -v t="$TICKS" -v n="$1" 'BEGIN { printf "%.1f", d * 1000 / t / n * 1000000 }'
}

# rounds ID PIPES MEASURE...: for each pipeline depth in PIPES, ROUNDS rounds
# in which each server in turn (order ROUND) is measured by `MEASURE... P`,
# after `$PREP` (a function name, if set) readied its data. A server whose
# measurement failed is recorded as n/a for the round.
rounds() {
    local id=$1 pipes=$2
    shift 2
    local p r k
    for p in $pipes; do
        for r in $(seq "$ROUNDS"); do
            for k in $(order "$r"); do
                use "$k"
                if [ -n "${SKIP[$kind,$id]:-}" ]; then
                    rec R "$kind,$id,$p" "n/a n/a n/a"
                    continue
                fi
                [ -z "${PREP:-}" ] || "$PREP"
                echo "$kind $(label_of "$id") -P $p (round $r of $ROUNDS) ..." >&2
                "$@" "$p" || rec R "$kind,$id,$p" "n/a n/a n/a"
            done
        done
    done
}

label_of() {
    echo "${LABEL[$1]}"
}

# rb ID LABEL REQUESTS KEYRANGE PIPES CMD... : one redis-benchmark test per
# pipeline depth in PIPES ("1 16" or "1"), ROUNDS times per server. CMD is
# "-t NAME" for a built-in test, or a command line where __rand_int__ takes
# values below KEYRANGE.
rb() {
    local id=$1 label=$2 n=$3 range=$4 pipes=$5
    shift 5
    row "$id" "$label" "$pipes"
    local check k
    if [ "$1" != -t ]; then
        # A command a server lacks (or rejects) must show n/a, not fast errors.
        for k in redis hematite; do
            use "$k"
            check=$(cli "${@//__rand_int__/000000000001}" 2>&1 || true)
            if is_error "$check"; then
                echo "$kind: $label: $check" >&2
                SKIP[$kind,$id]=1
            fi
        done
    fi
    if [ "$LOADGEN" = hematite-load ]; then
        local args
        if [ "$1" = -t ]; then
            read -ra args <<<"$(builtin_cmd "$2")"
        else
            args=("$@")
        fi
        rounds "$id" "$pipes" measure_hl "$id" "$n" cmd @PORT "$n" "$CLIENTS" @P "$range" "${args[@]}" --
    else
        rounds "$id" "$pipes" measure_rb "$id" "$n" "$range" "$@" --
    fi
}

# measure_hl ID REQUESTS ARGS... -- P: one hematite-load run of REQUESTS
# requests with ARGS, where @PORT is the current server's port and @P the
# pipeline depth P; recorded as row ID at pipeline P.
measure_hl() {
    local id=$1 n=$2 p=${!#} args=() a before after
    shift 2
    while [ "$1" != -- ]; do
        a=${1//@PORT/$port}
        args+=("${a//@P/$p}")
        shift
    done
    before=$(cpu_ticks)
    if ! run "$work/py.out" taskset -c "$LOAD_CPU" "$LOADBIN" "${args[@]}"; then
        echo "$kind: $(label_of "$id"): $(tail -1 "$work/py.out")" >&2
        return 1
    fi
    after=$(cpu_ticks)
    rec R "$kind,$id,$p" "$(cat "$work/py.out") $(cpu_per_mop "$n" $((after - before)))"
}

# measure_rb ID REQUESTS KEYRANGE CMD... -- P: one redis-benchmark run.
measure_rb() {
    local id=$1 n=$2 range=$3
    shift 3
    local args=() before after out
    while [ "$1" != -- ]; do args+=("$1"); shift; done
    local p=$2
    before=$(cpu_ticks)
    if ! run "$work/rb.out" taskset -c "$LOAD_CPU" redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" \
        -n "$n" -r "$range" -d "$SIZE" -P "$p" --csv "${args[@]}" || ! out=$(cat "$work/rb.out") ||
        ! grep -q '^"[A-Za-z]' <<<"$out" || grep -qi 'error' <<<"$out"; then
        echo "$kind: $(label_of "$id"): $(head -c 300 "$work/rb.out")" >&2
        return 1
    fi
    after=$(cpu_ticks)
    # "test","rps","avg","min","p50","p95","p99","max"
    rec R "$kind,$id,$p" "$(awk -F'","' 'NR==2 { gsub(/"/, "", $2); gsub(/"/, "", $7); printf "%s %s", $2, $7 }' <<<"$out") $(cpu_per_mop "$n" $((after - before)))"
}

# The command line of redis-benchmark's built-in test $1 (its
# redis-benchmark.c), for hematite-load; DATA is its value of SIZE bytes.
DATA=$(printf 'x%.0s' $(seq "$SIZE"))
builtin_cmd() {
    case $1 in
    set) echo "SET key:__rand_int__ $DATA" ;;
    get) echo "GET key:__rand_int__" ;;
    incr) echo "INCR counter:__rand_int__" ;;
    lpush) echo "LPUSH mylist $DATA" ;;
    rpop) echo "RPOP mylist" ;;
    sadd) echo "SADD myset element:__rand_int__" ;;
    spop) echo "SPOP myset" ;;
    hset) echo "HSET myhash element:__rand_int__ $DATA" ;;
    zadd) echo "ZADD myzset __rand_int__ element:__rand_int__" ;;
    mset) echo "MSET$(for _ in $(seq 10); do printf ' key:__rand_int__ %s' "$DATA"; done)" ;;
    *) echo "no built-in test $1 for hematite-load" >&2; exit 2 ;;
    esac
}

# gen ID LABEL REQUESTS PIPES ARGS... : the hematite-load load generator
# (benches/src/load.rs: txn, xrg), which prints "rps p99_ms", ROUNDS times
# per server; the pipeline depth is appended to ARGS when PIPES has more
# than one value.
gen() {
    local id=$1 label=$2 n=$3 pipes=$4
    shift 4
    row "$id" "$label" "$pipes"
    local tool=$1
    shift
    [ "$pipes" = 1 ] || set -- "$@" @P
    rounds "$id" "$pipes" measure_hl "$id" "$n" "$tool" @PORT "$n" "$CLIENTS" "$@" --
}

# mem ID LABEL DATASET COUNT: RSS growth of a fresh server loading DATASET,
# ROUNDS times per server (the servers taking turns).
mem() {
    local id=$1 label=$2 before after r k
    [ -n "${MLABEL[$id]:-}" ] || MROWS[$section]="${MROWS[$section]:-} $id"
    MLABEL[$id]=$label
    for r in $(seq "$ROUNDS"); do
        for k in $(order "$r"); do
            start "$k"
            echo "$kind memory: $label (round $r of $ROUNDS) ..." >&2
            before=$(rss_kb)
            load "$3" "$4"
            after=$(rss_kb)
            rec M "$kind,$id" "$((after - before))"
            stop
        done
    done
}

# Starts COUNT subscribers of CHANNEL on LOAD_CPU and waits until they are subscribed.
subscribers() {
    local fifo=$work/sub-$port.out
    taskset -c "$LOAD_CPU" python3 "$LOADPY" sub "$port" "$1" "$2" >"$fifo" 2>&1 &
    bgpids+=($!)
    for _ in $(seq 100); do
        grep -q ready "$fifo" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "subscribers did not start: $(cat "$fifo")" >&2
}

# check_subscribers CHANNEL COUNT: warns when the current server lost any.
check_subscribers() {
    [ "$(cli pubsub numsub "$1" | tail -1)" = "$2" ] || echo "warning: $kind lost subscribers of $1" >&2
}

stop_subscribers() {
    local p
    for p in "${bgpids[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    bgpids=()
}

VAL=$(printf 'v%.0s' $(seq "$SIZE"))

# --- sections: both servers are running; `each` readies both the same way, -
# --- rb and gen measure them in turns, `each stop` ends them before mem ------

foundation() {
    local t
    for t in set get incr mset; do
        rb "$t" "${t^^}$([ $t = mset ] && echo ' (10 keys)')" "$N" "$RANGE" "1 16" -t "$t"
    done
    each stop
    mem strings "$(scaled 1000000) keys of 16 bytes" strings "$(scaled 1000000)"
}

# SPOP pops N members per measurement: a fresh set of 2N before each.
prep_myset() {
    cli del myset >/dev/null
    load myset "$((2 * N))"
}

collections() {
    local heavy=$HEAVY_N
    rb lpush LPUSH "$N" "$RANGE" "1 16" -t lpush
    rb lrange "LRANGE 0 99 (100 of $SIZE-byte elements)" "$heavy" "$RANGE" "1 16" LRANGE mylist 0 99
    rb rpop RPOP "$N" "$RANGE" "1 16" -t rpop
    rb sadd SADD "$N" "$RANGE" "1 16" -t sadd
    PREP=prep_myset rb spop SPOP "$N" "$RANGE" "1 16" -t spop
    rb hset HSET "$N" "$RANGE" "1 16" -t hset
    rb zadd ZADD "$N" "$RANGE" "1 16" -t zadd
    rb zrange "ZRANGE 0 99 WITHSCORES" "$heavy" "$RANGE" "1 16" ZRANGE myzset 0 99 WITHSCORES
    each stop
    mem hashes "$(scaled 100000) hashes of 10 small fields" hashes "$(scaled 100000)"
    mem zset "one zset of $(scaled 1000000) members" zset "$(scaled 1000000)"
    mem list "one list of $(scaled 1000000) elements" list "$(scaled 1000000)"
    mem set "one set of $(scaled 1000000) integers" set "$(scaled 1000000)"
}

probabilistic() {
    local heavy=$HEAVY_N
    rb pfadd PFADD "$N" "$RANGE" "1 16" PFADD bench:hll __rand_int__
    each load hll "$(scaled 100000)"
    each load hll2 "$(scaled 100000)"
    each load hll3 "$(scaled 100000)"
    rb pfcount1 "PFCOUNT (1 key)" "$N" "$RANGE" "1 16" PFCOUNT bench:hll1
    rb pfcount3 "PFCOUNT (3 keys)" "$heavy" "$RANGE" "1 16" PFCOUNT bench:hll1 bench:hll2 bench:hll3
    # redis-benchmark pads __rand_int__ with zeros, which no bit offset
    # accepts, so SETBIT writes one bit in the middle of the loaded bitmap.
    each load bitmap 1
    rb setbit "SETBIT (1 MB bitmap)" "$N" "$RANGE" "1 16" SETBIT bench:bitmap 4194304 1
    rb bitcount "BITCOUNT (1 MB bitmap)" "$heavy" "$RANGE" "1 16" BITCOUNT bench:bitmap
    rb geoadd GEOADD "$N" "$RANGE" "1 16" GEOADD bench:geoadd 13.__rand_int__ 38.__rand_int__ m:__rand_int__
    each load geo "$(scaled 100000)"
    rb geosearch "GEOSEARCH BYRADIUS 2 km ($(scaled 100000) points)" "$heavy" "$RANGE" "1 16" \
        GEOSEARCH bench:geo FROMLONLAT 13.5 38.5 BYRADIUS 2 km ASC
    each stop
}

# Compare-and-delete lock release.
LUA_UNLOCK="if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
# Token bucket: ARGV = refill per second, capacity; one token per call.
LUA_BUCKET="local rate, cap = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(b[1]) or cap, tonumber(b[2]) or now
tokens = math.min(cap, tokens + (now - ts) * rate / 1000)
local ok = 0
if tokens >= 1 then tokens = tokens - 1; ok = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(cap / rate * 1000))
return ok"

# The unlock test releases the locks it finds: all of them again before each
# measurement.
prep_locks() {
    load locks "$RANGE"
}

scripting() {
    local unlock bucket
    unlock=$(printf %s "$LUA_UNLOCK" | sha1sum | cut -c1-40)
    bucket=$(printf %s "$LUA_BUCKET" | sha1sum | cut -c1-40)
    each cli script load "$LUA_UNLOCK" >/dev/null
    each cli script load "$LUA_BUCKET" >/dev/null
    PREP=prep_locks rb unlock "EVALSHA compare-and-delete unlock" "$N" "$RANGE" "1 16" EVALSHA "$unlock" 1 lock:__rand_int__ token
    rb bucket "EVALSHA token bucket" "$N" "$RANGE" "1 16" EVALSHA "$bucket" 1 bucket:__rand_int__ 100 10
    gen multi "MULTI + 5 INCR + EXEC" "$HEAVY_N" "1 16" txn
    each stop
}

# XREADGROUP+XACK reads the whole stream once per measurement: a fresh stream
# and group before each.
prep_xs() {
    cli del bench:xs >/dev/null
    load xs "$((HEAVY_N * 10))"
    cli xgroup create bench:xs g 0 >/dev/null
}

messaging() {
    each cli config set client-output-buffer-limit "pubsub 0 0 0" >/dev/null 2>&1 || true
    each subscribers bench:ch 1
    rb pub1 "PUBLISH to 1 subscriber" "$N" "$RANGE" "1 16" PUBLISH bench:ch "$VAL"
    each check_subscribers bench:ch 1
    stop_subscribers
    each subscribers bench:ch50 50
    rb pub50 "PUBLISH to 50 subscribers" "$N" "$RANGE" "1 16" PUBLISH bench:ch50 "$VAL"
    each check_subscribers bench:ch50 50
    stop_subscribers
    rb xadd "XADD (3 small fields)" "$N" "$RANGE" "1 16" XADD bench:xadd '*' a __rand_int__ b small c 42
    PREP=prep_xs gen xrg "XREADGROUP COUNT 10 + XACK" "$HEAVY_N" "1" xrg
    each stop
    mem stream "stream of $(scaled 1000000) entries, 3 small fields" stream "$(scaled 1000000)"
}

for section in $SECTIONS; do
    start redis
    start hematite
    "$section"
    each stop
done

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }'
}

# pratio H R FIELD: the median over the rounds of Hematite's figure FIELD
# (1 rps, 2 p99, 3 CPU) divided by Redis's of the same round (H and R as
# stored in R[]); n/a when no round has both.
pratio() {
    awk -v h="$1" -v r="$2" -v f="$3" 'BEGIN {
        n = split(h, hs, ";"); split(r, rs, ";"); c = 0
        for (i = 1; i <= n; i++) {
            split(hs[i], a, " "); split(rs[i], b, " ")
            if (a[f] == "n/a" || b[f] == "n/a" || a[f] == "" || b[f] == "" || b[f] + 0 == 0) continue
            v[++c] = a[f] / b[f]
        }
        if (!c) { print "n/a"; exit }
        for (x = 1; x <= c; x++) for (y = x + 1; y <= c; y++) if (v[y] < v[x]) { t = v[x]; v[x] = v[y]; v[y] = t }
        printf "%.2f", (c % 2) ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2
    }'
}

report() {
    echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(uname -srm);" \
        "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'); redis-server $("$REDIS_SERVER" --version | awk '{print $3}' | sed 's/^v=//')"
    echo "$LOADGEN -c $CLIENTS -n $N (heavy: $HEAVY_N) -r $RANGE -d $SIZE; BENCH_SCALE=$SCALE; ROUNDS=$ROUNDS (medians);" \
        "servers on CPU $SERVER_CPU, load on CPU $LOAD_CPU;" \
        "Hematite build: $([ "$PGO" = 1 ] && echo 'profile-guided (tools/pgo-build.sh)' || echo 'plain cargo build --release')." \
        "The servers take turns row by row; figures are medians over the rounds, throughput, p99 and CPU ratios the medians of the per-round ratios Hematite / Redis:" \
        "throughput above 1 is better, p99, CPU and memory below 1 are better."
    local id p rr rp rc hr hp hc
    for section in $SECTIONS; do
        echo
        echo "#### ${section^}"
        if [ -n "${ROWS[$section]:-}" ]; then
            echo
            echo "| test | pipeline | Redis ops/s | Hematite ops/s | ratio | Redis p99 ms | Hematite p99 ms | ratio | Redis CPU ms/Mop | Hematite CPU ms/Mop | ratio |"
            echo "|---|---|---|---|---|---|---|---|---|---|---|"
            for id in ${ROWS[$section]}; do
                for p in ${PIPES_OF[$id]}; do
                    local rs=${R[redis,$id,$p]:-n/a n/a n/a} hs=${R[hematite,$id,$p]:-n/a n/a n/a}
                    read -r rr rp rc <<<"$(med "$rs")"
                    read -r hr hp hc <<<"$(med "$hs")"
                    echo "| ${LABEL[$id]} | $p | $rr | $hr | $(pratio "$hs" "$rs" 1) | $rp | $hp | $(pratio "$hs" "$rs" 2) | $rc | $hc | $(pratio "$hs" "$rs" 3) |"
                done
            done
        fi
        if [ -n "${MROWS[$section]:-}" ]; then
            echo
            echo "| RSS growth | Redis KiB | Hematite KiB | ratio |"
            echo "|---|---|---|---|"
            local mr mh
            for id in ${MROWS[$section]}; do
                mr=$(med "${M[redis,$id]:-n/a}")
                mh=$(med "${M[hematite,$id]:-n/a}")
                mr=${mr%.00}
                mh=${mh%.00}
                echo "| ${MLABEL[$id]} | $mr | $mh | $(ratio "$mh" "$mr") |"
            done
        fi
    done
}

echo
report | tee "$work/report.md"
if [ -n "$MD" ]; then
    { echo; echo "### Run of $(date -u '+%Y-%m-%d %H:%M UTC')"; echo; cat "$work/report.md"; } >>"$MD"
    echo "(appended to $MD)" >&2
fi
