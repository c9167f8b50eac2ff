#!/usr/bin/env bash
# `weft download` through Xet with the local chunk cache: the issue 4 acceptance case. Revision 1
# of a WEFT_BENCH_XET_SIZE file (default 512 MiB of synthetic BF16 safetensors), revision 2 with
# 1 MiB in the middle rewritten with random bytes. Downloads revision 1 (empty chunk cache), then
# revision 2 with the same chunk cache, and reports the bytes that moved through /v1/fetch (from
# the server's request log) against the limit 1 MiB + 3 chunks, with times; anchors in the same
# run: revision 2 with an empty chunk cache, with --no-xet (plain GET), and curl of the resolve URL.
#   bash bench/client_xet.sh BUILD_DIR
. "$(dirname "$0")/lib.sh"
bench_init xet "${1:-build}"
size=${WEFT_BENCH_XET_SIZE:-536870912}
unset HF_HUB_DISABLE_XET

"$build/bench_gen_model" -o "$work/v1.bin" --size "$size" --seed 5 > /dev/null
truncate -s "$size" "$work/v1.bin" # the generator rounds up to whole layers
bytes=$(stat -c %s "$work/v1.bin")
cp "$work/v1.bin" "$work/v2.bin"
head -c 1048576 /dev/urandom | dd of="$work/v2.bin" bs=1M seek=$((bytes / 2 / 1048576)) conv=notrunc status=none
echo "input: $bytes bytes of synthetic BF16 safetensors; revision 2 rewrites 1 MiB at $((bytes / 2 / 1048576)) MiB; $(nproc) cores"

bench_hub "$work"
curl -sS "${auth[@]}" -X POST "$base/api/repos/create" -H 'content-type: application/json' -d '{"name":"bench"}' > /dev/null

commit() { # commit FILE: LFS upload + commit of model.bin; prints the commit
    local o n href
    o=$(sha256sum "$1" | cut -d' ' -f1)
    n=$(stat -c %s "$1")
    href=$(curl -sS "${auth[@]}" -X POST "$base/admin/bench.git/info/lfs/objects/batch" \
        -H 'content-type: application/vnd.git-lfs+json' \
        -d "{\"operation\":\"upload\",\"transfers\":[\"basic\"],\"objects\":[{\"oid\":\"$o\",\"size\":$n}]}" |
        grep -o '"upload":{"href":"[^"]*"' | sed -E 's/.*"href":"([^"]*)"/\1/' || true)
    [ -z "$href" ] || curl -sS -o /dev/null -T "$1" "$href"
    curl -sS "${auth[@]}" -X POST "$base/api/models/admin/bench/commit/main" -H 'content-type: application/x-ndjson' \
        --data-binary "{\"key\":\"header\",\"value\":{\"summary\":\"bench\"}}
{\"key\":\"lfsFile\",\"value\":{\"path\":\"model.bin\",\"algo\":\"sha256\",\"oid\":\"$o\",\"size\":$n}}" |
        sed -E 's/.*"commitOid":"([0-9a-f]{40})".*/\1/'
}
rev1=$(commit "$work/v1.bin")
rev2=$(commit "$work/v2.bin")
sha2=$(sha256sum < "$work/v2.bin" | cut -d' ' -f1)

lines() { wc -l < "$work/serve.err"; }
fetched_since() { # body bytes of /v1/fetch answers logged after line $1
    sleep 0.3
    tail -n +"$(($1 + 1))" "$work/serve.err" | grep 'GET /v1/fetch/' | sed -E 's/.* out=([0-9]+) .*/\1/' |
        awk '{s += $1} END {print s + 0}'
}
run() { # run CHUNK_CACHE HUB REVISION [args]: prints "seconds fetched_bytes"
    local cc=$1 hub=$2 rev=$3 l0 t0 t1
    shift 3
    l0=$(lines)
    t0=$(date +%s.%N)
    WEFT_CHUNK_CACHE=$cc "$weft" download admin/bench model.bin --endpoint "$base" --token "$token" \
        --cache-dir "$hub" --revision "$rev" --quiet "$@" > "$work/path" 2> "$work/err" ||
        { echo "bench: download failed: $(cat "$work/err")" >&2; exit 1; }
    t1=$(date +%s.%N)
    [ "$(sha256sum < "$(cat "$work/path")" | cut -d' ' -f1)" = "$sha2" ] || [ "$rev" != "$rev2" ] ||
        { echo "bench: revision 2 bytes differ" >&2; exit 1; }
    echo "$(echo "$t1 - $t0" | bc -l) $(fetched_since "$l0")"
}
secs() { printf "%.2f s" "$1"; }

read -r t_r1 b_r1 <<< "$(run "$work/cc" "$work/hub1" "$rev1")"
read -r t_r2 b_r2 <<< "$(run "$work/cc" "$work/hub2" "$rev2")"
read -r t_cold b_cold <<< "$(run "$work/cc-empty" "$work/hub3" "$rev2")"
read -r t_plain _ <<< "$(run "$work/cc" "$work/hub4" "$rev2" --no-xet)"
t0=$(date +%s.%N)
curl -sS -o /dev/null "${auth[@]}" "$base/admin/bench/resolve/$rev2/model.bin"
t_curl=$(echo "$(date +%s.%N) - $t0" | bc -l)
limit=$((1048576 + 3 * 131072))

echo
echo "== weft download through Xet (one run each; bytes from the server's request log, /v1/fetch bodies)"
echo "revision 1, empty chunk cache:        $b_r1 bytes fetched   $(secs "$t_r1")"
echo "revision 2 after revision 1:          $b_r2 bytes fetched   $(secs "$t_r2")   limit 1 MiB + 3 chunks = $limit (+ chunk headers): $([ "$b_r2" -le $((limit + 4096)) ] && echo within || echo OVER)"
echo "revision 2, empty chunk cache:        $b_cold bytes fetched   $(secs "$t_cold")"
echo "revision 2, --no-xet (plain GET):     $bytes bytes   $(secs "$t_plain")"
echo "revision 2, curl of the resolve URL:  $bytes bytes   $(secs "$t_curl")"
