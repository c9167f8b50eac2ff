#!/usr/bin/env bash
# Portable deltas (weft delta create/apply) on a synthetic BF16 family: one base of
# WEFT_BENCH_SIZE bytes and fine-tunes moved by 1%, 3% and 10% of each tensor's sigma
# (bench_gen_model --finetune), then the real stories260K pair of ../shared/data (F32, BF16).
# Printed per fine-tune: the delta's ratio (FT bytes / delta bytes) and the library's create and
# apply speed (bench_delta: one core, CPU-time medians, and wall time), the CLI's wall time
# (mmap, SHA-256 of inputs and result, fsync'ed write), beside anchors on the same bytes in the
# same run: `zstd -3` of the fine-tune alone and `xdelta3 -e -s BASE` when installed
# (Debian package xdelta3). Issue 5's targets for the lossless delta: >= 3.3x at 1%,
# >= 2.6x at 3%, >= 1.9x at 10% sigma; apply >= 2 GB/s per core.
#   bash bench/delta.sh BUILD_DIR      (WEFT_BENCH_SIZE, WEFT_BENCH_RUNS, WEFT_BENCH_DIR)
set -euo pipefail
build=${1:-build}
src=$(cd "$(dirname "$0")/.." && pwd)
size=${WEFT_BENCH_SIZE:-1073741824}
runs=${WEFT_BENCH_RUNS:-5}
work=${WEFT_BENCH_DIR:-$build/bench-data}
weft=$build/weft
gen=$build/bench_gen_model
data=${WEFT_SHARED_DATA:-$src/../shared/data}
# small runs (bench_smoke) use narrow layers so the files are really small
dim=1024
[ "$size" -ge 67108864 ] || dim=256
mkdir -p "$work"
tmp=$(mktemp -d "$work/delta.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
{ "$gen" --help 2>&1 || true; } | grep -q -- --finetune || { echo "bench_gen_model has no --finetune"; exit 1; }

echo "load: $(uptime | sed 's/.*load average/load average/')"
median() { sort -g | sed -n "$(( (runs + 1) / 2 ))p"; }
# wall seconds of one run of a command (output discarded)
secs() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" > /dev/null 2>&1
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
}
fmt() { printf "%.2f" "$(echo "$1" | bc -l)"; }

# one_pair BASE FT LABEL: every figure for one fine-tune
one_pair() {
    local base=$1 ft=$2 label=$3 bytes ts ta zs xs t
    bytes=$(stat -c %s "$ft")
    cat "$base" "$ft" > /dev/null
    echo "-- $label: $(basename "$ft") ($bytes bytes) against $(basename "$base")"
    "$build/bench_delta" "$base" "$ft" --runs "$runs"
    ts=$(for _ in $(seq "$runs"); do secs "$weft" delta create -q "$base" "$ft" -o "$tmp/d"; done | median)
    ta=$(for _ in $(seq "$runs"); do secs "$weft" delta apply -q "$base" "$tmp/d" -o "$tmp/r"; done | median)
    cmp -s "$ft" "$tmp/r" || { echo "bench: weft delta apply did not rebuild $ft"; exit 1; }
    local dsize
    dsize=$(stat -c %s "$tmp/d")
    echo "weft delta create/apply (CLI, wall, median of $runs): ratio $(fmt "$bytes / $dsize")x, create $(fmt "$bytes / $ts / 1000000000") GB/s, apply $(fmt "$bytes / $ta / 1000000000") GB/s"
    t=$(secs zstd -3 -T1 -q -f "$ft" -o "$tmp/z")
    zs=$(stat -c %s "$tmp/z")
    echo "zstd -3 -T1 of the fine-tune alone: ratio $(fmt "$bytes / $zs")x, $(fmt "$bytes / $t / 1000000000") GB/s"
    echo "ratio weft delta / zstd -3: $(fmt "$zs / $dsize")x"
    if command -v xdelta3 > /dev/null; then
        t=$(secs xdelta3 -e -f -s "$base" "$ft" "$tmp/x")
        xs=$(stat -c %s "$tmp/x")
        echo "xdelta3 -e -s BASE: ratio $(fmt "$bytes / $xs")x, $(fmt "$bytes / $t / 1000000000") GB/s; weft delta / xdelta3: $(fmt "$xs / $dsize")x"
    else
        echo "xdelta3: not installed (apt-get install xdelta3), skipped"
    fi
    rm -f "$tmp/d" "$tmp/r" "$tmp/z" "$tmp/x"
}

base=$work/delta-base-$size.safetensors
[ -f "$base" ] || "$gen" -o "$base" --size "$size" --dim $dim --seed 11 > /dev/null
echo "== synthetic BF16 family, base $(stat -c %s "$base") bytes (bench/README.md)"
for p in 1 3 10; do
    ft=$work/delta-ft$p-$size.safetensors
    [ -f "$ft" ] || "$gen" -o "$ft" --size "$size" --dim $dim --seed 11 --finetune $p > /dev/null
    one_pair "$base" "$ft" "$p% sigma (target >= $(case $p in 1) echo 3.3 ;; 3) echo 2.6 ;; 10) echo 1.9 ;; esac)x)"
done

if [ -d "$data/stories260K-hf" ]; then
    echo
    echo "== real pair: stories260K and its WikiText fine-tune (../shared/data)"
    one_pair "$data/stories260K-hf/model.safetensors" "$data/stories260K-wiki-ft/model.safetensors" "F32"
    one_pair "$data/stories260K-hf/model.bf16.safetensors" "$data/stories260K-wiki-ft/model.bf16.safetensors" "BF16"
else
    echo "real pair: $data not found, skipped"
fi
