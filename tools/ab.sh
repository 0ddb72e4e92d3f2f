#!/usr/bin/env bash
# Paired A/B of one load against two running servers: redis-server on RPORT
# and Hematite on HPORT (both already started and loaded by the caller, each
# pinned to its CPU). Runs the load REPS times against each, the two taking
# turns (Redis first in odd pairs, Hematite first in even ones), and prints
# the median, smallest and largest of the per-pair throughput ratios
# Hematite / Redis. Pairs a few seconds long cancel a machine whose speed
# drifts within minutes (a shared VM), which tools/bench.sh's rounds, one
# whole section per server, do not.
#
# usage: tools/ab.sh REPS HEMATITE-LOAD-ARGS...   (PORT in the args: the port)
#   tools/ab.sh 16 cmd PORT 150000 50 1 100000 PFCOUNT bench:hll1
#   tools/ab.sh 16 txn PORT 1500 50
# env: RPORT (7401), HPORT (7405), LOAD_CPU (1)
set -euo pipefail
reps=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
load=$root/target/release/hematite-load
rport=${RPORT:-7401}
hport=${HPORT:-7405}
ratios=()
for i in $(seq "$reps"); do
    order="$rport $hport"
    [ $((i % 2)) = 1 ] || order="$hport $rport"
    for p in $order; do
        args=("${@//PORT/$p}")
        rate=$(taskset -c "${LOAD_CPU:-1}" "$load" "${args[@]}" | awk '{print $1}')
        if [ "$p" = "$rport" ]; then r=$rate; else h=$rate; fi
    done
    ratios+=("$(awk -v a="$h" -v b="$r" 'BEGIN { printf "%.3f", a / b }')")
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 }
    END { m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
          printf "median %.2f min %.2f max %.2f pairs %d\n", m, a[1], a[NR], NR }'
