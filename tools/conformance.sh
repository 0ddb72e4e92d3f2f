#!/bin/bash
# Runs units of Redis 7.0.15's own tcl test suite against Hematite, one fresh
# server per unit, and prints a tally line per unit. See docs/conformance.md.
#
#   tools/conformance.sh [unit ...]        (default: every unit listed below)
#
# Environment:
#   REDIS_SRC   Redis 7.0.15 source tree holding tests/ (default /work/ref)
#   BIN         hematite-server binary (default target/debug/hematite-server)
#   PORT        port of the server under test (default 7300); the suite's
#               own test server takes a free port from PORT+8 upwards
#   OUT         directory for logs (default target/conformance)
#   TMO         seconds allowed per unit (default 600)
#   MODE        external (default): the suite talks to a server this script
#               started, and leaves out every test tagged external:skip;
#               own: the suite starts its own servers, as it does for Redis,
#               from a tree whose src/redis-server is Hematite (built under
#               OUT/tree), so units tagged external:skip run too (those
#               needing replication, persistence or DEBUG internals fail)
#
# Tests that need what Hematite does not have (replication, persistence,
# DEBUG RELOAD and other DEBUG subcommands, ACL, CLUSTER)
# are skipped by name
# (tools/conformance-skip.txt) or by tag; docs/conformance.md says why.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REDIS_SRC=${REDIS_SRC:-/work/ref}
BIN=${BIN:-$ROOT/target/debug/hematite-server}
PORT=${PORT:-7300}
OUT=${OUT:-$ROOT/target/conformance}
TMO=${TMO:-600}
SKIP=$ROOT/tools/conformance-skip.txt
UNITS=(
  unit/maxmemory unit/type/incr unit/type/string unit/type/hash unit/type/set unit/type/zset
  unit/type/list unit/type/list-2 unit/type/list-3 unit/type/stream unit/type/stream-cgroups
  unit/expire unit/keyspace unit/info unit/info-command unit/pubsub unit/pubsubshard
  unit/tracking unit/multi unit/scripting unit/functions unit/bitops unit/bitfield
  unit/geo unit/hyperloglog unit/sort unit/scan unit/auth unit/protocol unit/querybuf
  unit/introspection unit/introspection-2 unit/slowlog unit/latency-monitor unit/limits unit/quit
  unit/lazyfree unit/pause unit/other unit/dump
)
[ $# -gt 0 ] && UNITS=("$@")
[ -x "$BIN" ] || { echo "no server binary at $BIN (cargo build -p hematite)"; exit 2; }
[ -f "$REDIS_SRC/tests/test_helper.tcl" ] || { echo "no Redis test suite under $REDIS_SRC"; exit 2; }
mkdir -p "$OUT"
if [ "${MODE:-external}" = own ]; then
  tree=$OUT/tree
  mkdir -p "$tree/src"
  ln -sfn "$REDIS_SRC/tests" "$tree/tests"
  ln -sf "$(realpath "$BIN")" "$tree/src/redis-server"
  for t in redis-cli redis-benchmark redis-check-aof redis-check-rdb; do
    command -v $t >/dev/null && ln -sf "$(command -v $t)" "$tree/src/$t"
  done
  for u in "${UNITS[@]}"; do
    log=$OUT/own_$(echo "$u" | tr / _).log
    (cd "$tree" && timeout "$TMO" tclsh tests/test_helper.tcl --clients 1 --baseport $((PORT + 40)) \
      --durable --single "$u" --skipfile "$SKIP") >"$log.raw" 2>&1
    sed 's/\x1b\[[0-9;]*m//g' "$log.raw" >"$log"
    rm -f "$log.raw"
    count() { grep -c "^\[$1\]" "$log"; }
    echo "$u (own servers) passed=$(count ok) failed=$(($(count err) + $(count exception))) skipped=$(count skip) ignored=$(count ignore)"
  done
  exit 0
fi
for u in "${UNITS[@]}"; do
  log=$OUT/$(echo "$u" | tr / _).log
  # A fresh working directory per unit: SAVE, BGSAVE and the save at
  # shutdown write there, and a unit must not start on another's file.
  data=$OUT/data/$(echo "$u" | tr / _)
  rm -rf "$data" && mkdir -p "$data"
  "$BIN" --port "$PORT" --enable-debug-command yes --dir "$data" >"$log.server" 2>&1 &
  spid=$!
  for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  (cd "$REDIS_SRC" && timeout "$TMO" tclsh tests/test_helper.tcl --host 127.0.0.1 --port "$PORT" \
    --baseport $((PORT + 40)) --durable --single "$u" --skipfile "$SKIP" \
    --tags -needs:repl) >"$log.raw" 2>&1
  kill "$spid" 2>/dev/null
  wait "$spid" 2>/dev/null
  sed 's/\x1b\[[0-9;]*m//g' "$log.raw" >"$log"
  rm -f "$log.raw"
  count() { grep -c "^\[$1\]" "$log"; }
  echo "$u passed=$(count ok) failed=$(($(count err) + $(count exception))) skipped=$(count skip) ignored=$(count ignore)"
done
