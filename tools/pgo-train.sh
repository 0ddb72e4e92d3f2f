#!/usr/bin/env bash
# The training workload of the profile-guided build (tools/pgo-build.sh):
# runs an instrumented hematite-server and sends it a broad mix of commands,
# every data type and the connection paths around them, so that the profile
# says which code is hot in ordinary use. The mix is fixed here and written
# out in docs/benchmarks.md ("The profile-guided build"):
#   - redis-benchmark's own default suite (PING, SET, GET, INCR, LPUSH,
#     RPUSH, LPOP, RPOP, SADD, HSET, SPOP, ZADD, ZPOPMIN, LRANGE, MSET) at
#     pipeline 1 and 16;
#   - the same number of requests of each command below, of every family
#     (strings, keys and expiry, hashes, lists, sets, sorted sets,
#     HyperLogLog, bitmaps, geo, streams, pub/sub, scripts and functions,
#     transactions), at pipeline 1 and 16, from 50 clients.
# The server is stopped with SHUTDOWN NOSAVE, which writes the profile.
#
# usage: tools/pgo-train.sh SERVER_BINARY [PORT]
#   env: TRAIN_N (20000) requests per command and pipeline depth
set -euo pipefail
bin=$1
port=${2:-7299}
N=${TRAIN_N:-20000}
root=$(cd "$(dirname "$0")/.." && pwd)
load=$root/target/release/hematite-load
for t in redis-cli redis-benchmark "$load"; do
    command -v "$t" >/dev/null || { echo "pgo-train: $t is missing" >&2; exit 1; }
done
data=$(mktemp -d)
"$bin" --port "$port" --save '' --appendonly no --dir "$data" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
done
cli() { redis-cli -p "$port" "$@" >/dev/null; }

for p in 1 16; do
    redis-benchmark -p "$port" -q -n "$N" -c 50 -P "$p" -r 100000 >/dev/null
done

unlock=$(redis-cli -p "$port" SCRIPT LOAD "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end")
counter=$(redis-cli -p "$port" SCRIPT LOAD "local v = redis.call('incrby', KEYS[1], ARGV[1]) redis.call('expire', KEYS[1], 60) return v")
window=$(redis-cli -p "$port" SCRIPT LOAD "redis.call('zadd', KEYS[1], ARGV[1], ARGV[1]) redis.call('zremrangebyrank', KEYS[1], 0, -11) return redis.call('zcard', KEYS[1])")
cli FUNCTION LOAD REPLACE "#!lua name=train
redis.register_function('hget_or', function(keys, args) return redis.call('hget', keys[1], args[1]) or args[2] end)
redis.register_function{function_name='len', callback=function(keys) return redis.call('strlen', keys[1]) end, flags={'no-writes'}}"
cli PFADD hll:a x y z
cli PFADD hll:b u v w
cli SETBIT bitmap 8388607 1
cli XGROUP CREATE stream:g grp '$' MKSTREAM
for i in $(seq 0 99); do cli GEOADD geo "13.$i" "38.$i" "m:$i"; done

# One command line per entry; words split on spaces ({SP}: a space inside a word).
commands=(
    "SET str:__rand_int__ value EX 100"
    "GET str:__rand_int__"
    "MGET str:__rand_int__ str:__rand_int__ str:__rand_int__"
    "INCRBY counter:__rand_int__ 3"
    "APPEND app:__rand_int__ abc"
    "GETRANGE str:__rand_int__ 0 3"
    "EXISTS str:__rand_int__"
    "EXPIRE str:__rand_int__ 100"
    "TTL str:__rand_int__"
    "DEL counter:__rand_int__"
    "HSET hash:__rand_int__ f1 v1 f2 v2"
    "HGET hash:__rand_int__ f1"
    "HGETALL hash:__rand_int__"
    "HINCRBY hash:__rand_int__ n 1"
    "LPUSH list:__rand_int__ a b c"
    "LRANGE list:__rand_int__ 0 -1"
    "LINDEX list:__rand_int__ 1"
    "SADD set:__rand_int__ a b c"
    "SISMEMBER set:__rand_int__ b"
    "SMEMBERS set:__rand_int__"
    "ZADD zset 1__rand_int__ m:__rand_int__"
    "ZSCORE zset m:__rand_int__"
    "ZRANGE zset 0 9 WITHSCORES"
    "ZINCRBY zset 1 m:__rand_int__"
    "PFADD hll __rand_int__"
    "PFCOUNT hll"
    "PFCOUNT hll hll:a hll:b"
    "PFMERGE hll:m hll:a hll:b"
    "SETBIT bitmap 4194304 1"
    "GETBIT bitmap 1000"
    "BITCOUNT bitmap"
    "BITPOS bitmap 1"
    "GEOADD geo 13.__rand_int__ 38.__rand_int__ p:__rand_int__"
    "GEOSEARCH geo FROMLONLAT 13.5 38.5 BYRADIUS 5 km ASC COUNT 10"
    "GEODIST geo m:1 m:2 km"
    "XADD stream:__rand_int__ MAXLEN 10 * a 1 b 2"
    "XADD stream:g * a __rand_int__"
    "XRANGE stream:g - + COUNT 5"
    "PUBLISH channel hello"
    "EVALSHA $unlock 1 lock:__rand_int__ token"
    "EVALSHA $counter 1 rate:__rand_int__ 1"
    "EVALSHA $window 1 window:__rand_int__ __rand_int__"
    "EVAL return{SP}1 0"
    "FCALL hget_or 1 hash:__rand_int__ f1 none"
    "FCALL_RO len 1 str:__rand_int__"
)
for p in 1 16; do
    for c in "${commands[@]}"; do
        read -r -a words <<<"$c"
        for i in "${!words[@]}"; do words[i]=${words[i]//\{SP\}/ }; done
        "$load" cmd "$port" "$N" 50 "$p" 100000 "${words[@]}" >/dev/null
    done
    "$load" txn "$port" $((N / 4)) 50 "$p" >/dev/null
done
# Consumer groups: 10 consumers read and acknowledge N entries, 10 at a time.
redis-benchmark -p "$port" -q -n "$N" -c 50 -P 16 XADD bench:xs '*' a __rand_int__ >/dev/null
cli XGROUP CREATE bench:xs g 0
"$load" xrg "$port" $((N / 100)) 10 >/dev/null

redis-cli -p "$port" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
wait "$server" || true
trap 'rm -rf "$data"' EXIT
