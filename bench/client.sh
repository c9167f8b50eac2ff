#!/usr/bin/env bash
# `weft download` from a local `weft serve` over loopback, beside curl in the same run:
#   - one large LFS file (default 1 GiB): weft download (16 MiB ranges, 1-4 connections,
#     SHA-256 checked, into a fresh cache) vs one curl GET of the same resolve URL into a file
#     (no check); goal: weft >= 0.8x curl's speed;
#   - 100 small files: weft download of the repo (8 workers, HEAD + GET each, git blob ids
#     checked) vs fetching them one by one with curl; goal: weft >= 3x faster.
# Medians of several runs; every run starts from an empty cache and the server's files in the
# page cache.
#   bash bench/client.sh BUILD_DIR     (WEFT_BENCH_SIZE bytes, default 1 GiB; WEFT_BENCH_RUNS)
. "$(dirname "$0")/lib.sh"
bench_init client "${1:-build}"
size=${WEFT_BENCH_SIZE:-1073741824}
runs=${WEFT_BENCH_RUNS:-5}
# plain HTTP against curl; Xet downloads have bench/client_xet.sh (and would fill a chunk cache)
export HF_HUB_DISABLE_XET=1

file=$work/model.bin
bench_model "$file" "$size" 5
echo "input: $bytes bytes of synthetic BF16 safetensors; 100 files of 8 KiB; $(nproc) cores"

bench_hub "$work" --quiet
api() { curl -sSf "${auth[@]}" "$@"; }
api -X POST "$base/api/repos/create" -H 'content-type: application/json' -d '{"name":"big"}' > /dev/null
api -X POST "$base/api/repos/create" -H 'content-type: application/json' -d '{"name":"small"}' > /dev/null

href=$(api -X POST "$base/admin/big.git/info/lfs/objects/batch" -H 'content-type: application/vnd.git-lfs+json' \
    -d "{\"operation\":\"upload\",\"transfers\":[\"basic\"],\"objects\":[{\"oid\":\"$oid\",\"size\":$bytes}]}" |
    grep -o '"upload":{"href":"[^"]*"' | sed -E 's/.*"href":"([^"]*)"/\1/')
curl -sSf -o /dev/null -T "$file" "$href"
api -X POST "$base/api/models/admin/big/commit/main" -H 'content-type: application/x-ndjson' --data-binary \
    "{\"key\":\"header\",\"value\":{\"summary\":\"bench\"}}
{\"key\":\"lfsFile\",\"value\":{\"path\":\"model.bin\",\"algo\":\"sha256\",\"oid\":\"$oid\",\"size\":$bytes}}" > /dev/null
lines='{"key":"header","value":{"summary":"small files"}}'
for i in $(seq -w 1 100); do
    lines+=$'\n'"{\"key\":\"file\",\"value\":{\"path\":\"f/$i.txt\",\"content\":\"$(head -c 8192 /dev/urandom | base64 -w0)\",\"encoding\":\"base64\"}}"
done
printf '%s' "$lines" > "$work/small.ndjson"
api -X POST "$base/api/models/admin/small/commit/main" -H 'content-type: application/x-ndjson' \
    --data-binary @"$work/small.ndjson" > /dev/null
rm -f "$file"

median() { sort -g | sed -n "$(((runs + 1) / 2))p"; }
gbps() { printf "%.2f" "$(echo "$bytes / $1 / 1000000000" | bc -l)"; }
ratio() { printf "%.2f" "$(echo "$1 / $2" | bc -l)"; }
seconds() { # seconds CMD...: wall time of one run
    local t0 t1
    t0=$(date +%s.%N)
    "$@" > /dev/null
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
}
# Each timed command starts from an empty target; the clearing (deleting a 1 GB blob takes a
# while on ext4) happens before the clock starts.
weft_big() {
    "$weft" download admin/big --endpoint "$base" --token "$token" --quiet --cache-dir "$work/cache"
}
curl_big() { curl -sSf -o "$work/curl.bin" "${auth[@]}" "$base/admin/big/resolve/main/model.bin"; }
weft_small() {
    "$weft" download admin/small --endpoint "$base" --token "$token" --quiet --cache-dir "$work/cache"
}
curl_small() {
    for i in $(seq -w 1 100); do
        curl -sSf -o "$work/curl/$i.txt" "${auth[@]}" "$base/admin/small/resolve/main/f/$i.txt"
    done
}

curl_big # warm the server's page cache
w_t=() c_t=() ws_t=() cs_t=()
for _ in $(seq "$runs"); do
    rm -rf "$work/cache"
    w_t+=("$(seconds weft_big)")
    rm -f "$work/curl.bin"
    c_t+=("$(seconds curl_big)")
    rm -rf "$work/cache"
    ws_t+=("$(seconds weft_small)")
    rm -rf "$work/curl" && mkdir -p "$work/curl"
    cs_t+=("$(seconds curl_small)")
done
rm -rf "$work/cache"
weft_big > /dev/null # the last timed run was the small repo's: check the big file's bytes
[ "$(sha256sum "$work/cache/models--admin--big/snapshots/"*/model.bin | cut -d' ' -f1)" = "$oid" ] ||
    { echo "bench: weft download gave other bytes"; exit 1; }
[ "$(sha256sum "$work/curl.bin" | cut -d' ' -f1)" = "$oid" ] || { echo "bench: curl gave other bytes"; exit 1; }
w=$(printf '%s\n' "${w_t[@]}" | median)
c=$(printf '%s\n' "${c_t[@]}" | median)
ws=$(printf '%s\n' "${ws_t[@]}" | median)
cs=$(printf '%s\n' "${cs_t[@]}" | median)
echo
echo "== one large file over loopback (medians of $runs, fresh cache each run)"
echo "weft download (ranges, SHA-256 checked): $(gbps "$w") GB/s    curl -o (one stream, unchecked): $(gbps "$c") GB/s    weft/curl $(ratio "$c" "$w")x (goal >= 0.8)"
echo
echo "== 100 files of 8 KiB (medians of $runs)"
printf "weft download: %.3f s    curl one by one: %.3f s    weft %.2fx faster (goal >= 3)\n" "$ws" "$cs" "$(ratio "$cs" "$ws")"
