#!/usr/bin/env bash
# `weft upload` of one large file to a local `weft serve`, through Xet and through LFS, beside
# anchors measured in the same run:
#   - curl -T of the same bytes to the signed LFS upload URL (the transfer alone, no client work);
#   - openssl dgst -sha256 of the file (the least work any client must do: it needs the oid).
# Each upload goes to a fresh server (an empty store), so nothing is deduplicated away.
#   bash bench/client_upload.sh BUILD_DIR   (WEFT_BENCH_SIZE bytes, default 1 GiB)
. "$(dirname "$0")/lib.sh"
bench_init upload "${1:-build}"
size=${WEFT_BENCH_SIZE:-1073741824}

file=$work/model.bin
bench_model "$file" "$size" 5
echo "input: $bytes bytes of synthetic BF16 safetensors; $(nproc) cores"

# start_server NAME [serve options]: a fresh server (empty store) in $work/NAME
start_server() {
    local d=$work/$1
    shift
    bench_hub "$d" "$@"
}
now() { date +%s.%N; }
gbps() { printf "%.2f" "$(echo "$bytes / $1 / 1000000000" | bc -l)"; }
secs() { printf "%.2f" "$1"; }

t0=$(now); openssl dgst -sha256 "$file" > /dev/null; t1=$(now)
sha=$(echo "$t1 - $t0" | bc -l)
echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg) (figures are wall-clock)"

upload() { # upload NAME [options]: seconds of `weft upload`; its CPU seconds go to $work/NAME.cpu
    local t0 t1
    t0=$(now)
    HF_ENDPOINT=$base HF_TOKEN=$token HF_HOME=$work/hf-$1 /usr/bin/time -f "%U %S" -o "$work/$1.cpu" \
        "$weft" upload --quiet --create "admin/$1" "$file" "${@:2}" > /dev/null
    t1=$(now)
    echo "$t1 - $t0" | bc -l
}
cpu() { awk '{printf "%.2f", $1 + $2}' "$work/$1.cpu"; }

start_server xet
xet=$(upload xet)
got=$(curl -sS -H "authorization: Bearer $token" "$base/admin/xet/resolve/main/model.bin" | sha256sum | cut -d' ' -f1)
[ "$got" = "$oid" ] || { echo "bench: Xet upload reads back wrong" >&2; exit 1; }
xorb_bytes=$(sed -nE 's/.*POST \/v1\/xorbs\/.* in=([0-9]+) .*/\1/p' "$work/xet/serve.err" | awk '{s+=$1} END {print s+0}')

start_server lfs --no-xet
lfs=$(upload lfs)

start_server curl --no-xet
curl -sS -H "authorization: Bearer $token" -X POST "$base/api/repos/create" \
    -H 'content-type: application/json' -d '{"name":"curl"}' > /dev/null
href=$(curl -sS -H "authorization: Bearer $token" -X POST "$base/admin/curl.git/info/lfs/objects/batch" \
    -H 'content-type: application/vnd.git-lfs+json' \
    -d "{\"operation\":\"upload\",\"transfers\":[\"basic\"],\"objects\":[{\"oid\":\"$oid\",\"size\":$bytes}]}" |
    grep -o '"upload":{"href":"[^"]*"' | sed -E 's/.*"href":"([^"]*)"/\1/')
ct=$(curl -sS -o /dev/null -w "%{time_total}" -T "$file" "$href")

echo
echo "== weft upload of one file to a local weft serve (end to end: hash, transfer, server work, commit)"
echo "Xet:  $(gbps "$xet") GB/s ($(secs "$xet") s; client CPU $(cpu xet) s; $xorb_bytes xorb bytes sent)"
echo "LFS:  $(gbps "$lfs") GB/s ($(secs "$lfs") s; client CPU $(cpu lfs) s; multipart, parts in parallel)"
echo "curl -T to the LFS upload URL: $(gbps "$ct") GB/s ($(secs "$ct") s)    weft LFS/curl $(printf "%.2f" "$(echo "$ct / $lfs" | bc -l)")x"
echo "openssl dgst -sha256 of the file: $(gbps "$sha") GB/s ($(secs "$sha") s)"
