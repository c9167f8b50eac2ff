#!/usr/bin/env bash
# make bench: chunking + hashing, ingest and reconstruction on a model-like file, each printed
# beside anchors run on the same bytes in the same run (b3sum, sha256sum, the reference Xet
# chunker from npm), with ratios. Medians of several runs, one core unless said otherwise.
#   bash bench/run.sh BUILD_DIR        (WEFT_BENCH_SIZE=bytes, default 1 GiB; WEFT_BENCH_RUNS)
set -euo pipefail
build=${1:-build}
src=$(cd "$(dirname "$0")/.." && pwd)
size=${WEFT_BENCH_SIZE:-1073741824}
runs=${WEFT_BENCH_RUNS:-5}
work=${WEFT_BENCH_DIR:-$build/bench-data}
weft=$build/weft
mkdir -p "$work"
file=$work/model-$size.safetensors

if [ ! -f "$file" ]; then
    "$build/bench_gen_model" -o "$file" --size "$size" --seed 1
fi
bytes=$(stat -c %s "$file")
echo "input: $file ($bytes bytes, synthetic BF16 safetensors, bench/README.md)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
cat "$file" > /dev/null # page cache

# Runs a command `runs` times, prints the median seconds.
median_seconds() {
    local times=()
    for _ in $(seq "$runs"); do
        local t0 t1
        t0=$(date +%s.%N)
        "$@" > /dev/null
        t1=$(date +%s.%N)
        times+=("$(echo "$t1 - $t0" | bc -l)")
    done
    printf '%s\n' "${times[@]}" | sort -g | sed -n "$(( (runs + 1) / 2 ))p"
}
gbps() { printf "%.2f" "$(echo "$bytes / $1 / 1000000000" | bc -l)"; }
ratio() { printf "%.2f" "$(echo "$1 / $2" | bc -l)"; }

echo
echo "== chunking + keyed BLAKE3 chunk hashes (in memory, one core)"
weft_line=$("$build/bench_chunk" "$file" --runs "$runs")
echo "$weft_line"
weft_chunk=$(sed -E 's/.*: ([0-9.]+) GB\/s.*/\1/' <<<"$weft_line")
ref_line=$(cd "$src" && node bench/ref_chunk.mjs "$file" 3)
echo "$ref_line"
ref_chunk=$(sed -E 's/.*: ([0-9.]+) GB\/s.*/\1/' <<<"$ref_line")
[ "$(sed -E 's/.*file hash ([0-9a-f]+).*/\1/' <<<"$weft_line")" = "$(sed -E 's/.*file hash ([0-9a-f]+).*/\1/' <<<"$ref_line")" ] \
    || { echo "bench: file hash differs from the reference chunker"; exit 1; }
b3=$(gbps "$(median_seconds b3sum --num-threads 1 "$file")")
sha=$(gbps "$(median_seconds sha256sum "$file")")
echo "b3sum --num-threads 1 (plain BLAKE3, no chunking, from page cache): $b3 GB/s"
echo "sha256sum (from page cache): $sha GB/s"
echo "ratios: weft/reference chunker $(ratio "$weft_chunk" "$ref_chunk")x, weft/b3sum $(ratio "$weft_chunk" "$b3")x, weft/sha256sum $(ratio "$weft_chunk" "$sha")x"

echo
echo "== BLAKE3 kernels (keyed), beside b3sum --keyed --num-threads 1"
WEFT_BENCH_SIZE=$bytes WEFT_BENCH_RUNS=$runs "$build/bench_blake3"

echo
echo "== weight codecs (bench/codec.c): float codec and fine-tune deltas on Xet chunks, one core"
"$build/bench_codec" float "$file" --runs "$runs"
# Fine-tunes of the same base (bench/README.md): 1%, 3%, 10% of each tensor's sigma, and a later
# checkpoint 0.5% further from the 3% one.
for pct in 1 3 10; do
    ft=$work/model-$size-ft$pct.safetensors
    [ -f "$ft" ] || "$build/bench_gen_model" -o "$ft" --size "$size" --seed 1 --finetune "$pct"
    echo
    "$build/bench_codec" delta "$file" "$ft" --runs "$runs"
done
ckpt=$work/model-$size-ft3-ckpt.safetensors
[ -f "$ckpt" ] || "$build/bench_gen_model" -o "$ckpt" --size "$size" --seed 1 --finetune 3 --checkpoint
echo
"$build/bench_codec" delta "$work/model-$size-ft3.safetensors" "$ckpt" --runs "$runs"
data=${WEFT_SHARED_DATA:-$src/../shared/data}
if [ -d "$data/stories260K-wiki-ft" ]; then
    for f in model.bf16.safetensors model.safetensors; do
        echo
        "$build/bench_codec" float "$data/stories260K-hf/$f" --runs "$runs"
        "$build/bench_codec" delta "$data/stories260K-hf/$f" "$data/stories260K-wiki-ft/$f" --runs "$runs"
    done
else
    echo "(real stories260K pair not found under $data: skipped)"
fi

echo
echo "== ingest: weft store put (chunk + hash + dedup + xorbs + SHA-256 + index, file in page cache)"
put_once() { rm -rf "$work/store"; "$weft" store --store "$work/store" put "$file"; }
ingest=$(gbps "$(median_seconds put_once)")
echo "weft store put, store on $(df --output=fstype "$work" | tail -1) (durable: every xorb fsynced): $ingest GB/s"
# The same with the store in RAM: the CPU path alone, without the disk's write bandwidth.
if [ -d /dev/shm ] && [ "$(df --output=avail -B1 /dev/shm | tail -1)" -gt $((3 * bytes)) ]; then
    shm=$(mktemp -d /dev/shm/weft-bench.XXXXXX)
    put_shm() { rm -rf "$shm/store"; "$weft" store --store "$shm/store" put "$file"; }
    ingest_shm=$(gbps "$(median_seconds put_shm)")
    rm -rf "$shm"
    echo "weft store put, store on tmpfs: $ingest_shm GB/s"
fi
# put's SHA-256 is OpenSSL's (SHA-NI), which sha256sum does not use: the speed of that step alone.
ossl=$(gbps "$(median_seconds openssl dgst -sha256 "$file")")
echo "openssl dgst -sha256 (the SHA-256 step alone, one core, from page cache): $ossl GB/s"
if [ -n "${ingest_shm:-}" ]; then
    echo "ratio: weft put on tmpfs/openssl dgst -sha256 $(ratio "$ingest_shm" "$ossl")x"
fi
dd_speed=$(gbps "$(median_seconds dd if="$file" of="$work/dd-copy" bs=64M conv=fsync status=none)")
rm -f "$work/dd-copy"
echo "dd bs=64M conv=fsync of the same file into the same directory (the disk's durable write speed): $dd_speed GB/s"
echo "ratios: weft put/sha256sum $(ratio "$ingest" "$sha")x, weft put/b3sum $(ratio "$ingest" "$b3")x, weft put/dd $(ratio "$ingest" "$dd_speed")x"

echo
echo "== reconstruction: weft store get to /dev/null"
put_once > /dev/null
oid=$(sha256sum "$file" | cut -d' ' -f1)
get_verify=$(gbps "$(median_seconds "$weft" store --store "$work/store" get "$oid" -o /dev/null)")
get_fast=$(gbps "$(median_seconds "$weft" store --store "$work/store" get --no-verify "$oid" -o /dev/null)")
cat_speed=$(gbps "$(median_seconds cat "$file")")
echo "weft store get (chunk hashes checked): $get_verify GB/s"
echo "weft store get --no-verify: $get_fast GB/s"
echo "cat of the raw file (page cache): $cat_speed GB/s"
echo "ratios: get/b3sum $(ratio "$get_verify" "$b3")x, get --no-verify/cat $(ratio "$get_fast" "$cat_speed")x"
rm -rf "$work/store"

echo
echo "== the server over loopback (bench/serve.sh)"
WEFT_BENCH_SIZE=$size WEFT_BENCH_RUNS=$runs bash "$src/bench/serve.sh" "$build"

echo
echo "== weft download from a local weft serve (bench/client.sh)"
WEFT_BENCH_SIZE=$size WEFT_BENCH_RUNS=$runs bash "$src/bench/client.sh" "$build"

echo
echo "== weft upload to a local weft serve, Xet and LFS (bench/client_upload.sh)"
WEFT_BENCH_SIZE=$size bash "$src/bench/client_upload.sh" "$build"

echo
echo "== weft download through Xet: revision 2 after revision 1 (bench/client_xet.sh)"
bash "$src/bench/client_xet.sh" "$build"

echo
echo "== weft inspect of a remote file: header bytes only (bench/inspect.sh)"
WEFT_BENCH_SIZE=$size bash "$src/bench/inspect.sh" "$build"

echo
echo "== portable deltas: weft delta create/apply on a 1%/3%/10% sigma family (bench/delta.sh)"
WEFT_BENCH_SIZE=$size WEFT_BENCH_RUNS=$runs WEFT_BENCH_DIR=$work bash "$src/bench/delta.sh" "$build"
