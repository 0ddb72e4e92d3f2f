#!/usr/bin/env bash
# The profile-guided release build of hematite-server (PGO): the build to
# run in production and the one tools/bench.sh measures (PGO=0 there
# measures the plain `cargo build --release` instead).
#
# Three steps, all from the current source:
#   1. an instrumented build (rustc -Cprofile-generate) in target/pgo/gen;
#   2. tools/pgo-train.sh runs it under a broad, fixed command mix, which
#      writes raw profiles; llvm-profdata merges them;
#   3. the release build with the profile (rustc -Cprofile-use) in
#      target/pgo/use. LLVM then lays out hot code together and cold code
#      apart, and inlines by measured frequency: on the command path the
#      instruction-cache misses per request fall by an order of magnitude
#      (docs/benchmarks.md, "The profile-guided build").
# Needs llvm-profdata of the toolchain's LLVM (rustup component llvm-tools,
# added here when missing), redis-cli and redis-benchmark (redis-tools).
# The profile is made anew every time, so it never lags the source.
#
# usage: tools/pgo-build.sh        prints the path of the binary on stdout
#   env: TRAIN_N (tools/pgo-train.sh), PGO_PORT (7299)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$root/target/pgo

profdata() {
    local bin
    bin=$(rustc --print target-libdir)/../bin/llvm-profdata
    [ -x "$bin" ] && echo "$bin"
}
if [ -z "$(profdata)" ]; then
    echo "pgo-build: adding rustup component llvm-tools (llvm-profdata)" >&2
    rustup component add llvm-tools >&2
fi
PROFDATA=$(profdata) || { echo "pgo-build: llvm-profdata not found" >&2; exit 1; }

# The load generator the training uses, built plainly.
cargo build --release -p hematite-benches --bin hematite-load >&2

echo "pgo-build: instrumented build..." >&2
rm -rf "$work/raw"
mkdir -p "$work/raw"
RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-generate=$work/raw" CARGO_TARGET_DIR=$work/gen \
    cargo build --release -p hematite --bin hematite-server >&2

echo "pgo-build: training..." >&2
"$root/tools/pgo-train.sh" "$work/gen/release/hematite-server" "${PGO_PORT:-7299}" >&2
shopt -s nullglob
raw=("$work"/raw/*.profraw)
[ ${#raw[@]} -gt 0 ] || { echo "pgo-build: the training wrote no profile" >&2; exit 1; }
"$PROFDATA" merge -o "$work/hematite.profdata" "${raw[@]}"

echo "pgo-build: optimised build..." >&2
RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-use=$work/hematite.profdata" CARGO_TARGET_DIR=$work/use \
    cargo build --release -p hematite --bin hematite-server >&2
echo "$work/use/release/hematite-server"
