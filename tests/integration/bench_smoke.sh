#!/usr/bin/env bash
# Keeps the benchmarks working: runs bench/run.sh on a small input (not a timing test; the
# figures it prints are not checked, only that every stage runs and agrees with the anchors).
set -euo pipefail
[ -n "${WEFT_BUILD:-}" ] || { echo "run through ctest"; exit 1; }
if [ "${WEFT_SANITIZE:-0}" = 1 ]; then
    echo "skip: benchmarks are not run in the sanitizer build"
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
WEFT_BENCH_SIZE=$((8 << 20)) WEFT_BENCH_XET_SIZE=$((16 << 20)) WEFT_BENCH_RUNS=1 WEFT_BENCH_DIR=$work \
    bash "$WEFT_SRC/bench/run.sh" "$WEFT_BUILD" > "$work/out.txt" 2>&1 || { cat "$work/out.txt"; exit 1; }
cat "$work/out.txt"
grep -q "weft chunk+hash:" "$work/out.txt"
grep -q "reference chunk+hash:" "$work/out.txt"
grep -q "weft store put, store on" "$work/out.txt"
grep -q "openssl dgst -sha256" "$work/out.txt"
grep -q "weft float codec: ratio" "$work/out.txt"
grep -q "xet bg4-lz4: ratio" "$work/out.txt"
[ "$(grep -c "weft delta frames: ratio" "$work/out.txt")" -ge 4 ]
grep -q "bitx-style xor + split + zstd -3: ratio" "$work/out.txt"
grep -q "weft store get --no-verify:" "$work/out.txt"
grep -q "weft/nginx" "$work/out.txt"
grep -q "Requests/sec" "$work/out.txt"
grep -q "weft/curl" "$work/out.txt"
grep -q "curl one by one" "$work/out.txt"
grep -q "weft LFS/curl" "$work/out.txt"
grep -q "revision 2 after revision 1: .* within" "$work/out.txt"
grep -q "weft inspect (remote): .* bytes moved" "$work/out.txt"
grep -q "weft delta (lossless, library, one core): .* ratio" "$work/out.txt"
grep -q "weft delta create/apply (CLI, wall" "$work/out.txt"
grep -q "zstd -3 -T1 of the fine-tune alone" "$work/out.txt"
echo "bench smoke: ok"
