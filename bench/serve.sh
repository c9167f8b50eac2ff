#!/usr/bin/env bash
# The server over loopback, beside anchors in the same run:
#   - single-stream download of a large LFS file with curl from `weft serve` vs nginx serving the
#     same bytes as a plain file (sendfile), medians of several runs;
#   - LFS upload (batch + signed PUT) with curl, beside openssl's SHA-256 of the same bytes (the least
#     work the server must do: it also chunks, hashes chunks and writes xorbs durably);
#   - upload through Xet with the JS client (end to end, and the server's CAS request time);
#   - model_info requests per second with wrk (2 threads, 32 connections, 5 s).
#   bash bench/serve.sh BUILD_DIR     (WEFT_BENCH_SIZE bytes, default 1 GiB; WEFT_BENCH_RUNS)
. "$(dirname "$0")/lib.sh"
bench_init serve "${1:-build}"
size=${WEFT_BENCH_SIZE:-1073741824}
runs=${WEFT_BENCH_RUNS:-5}

file=$work/www/model.bin
mkdir -p "$work/www"
bench_model "$file" "$size" 3
echo "input: $bytes bytes of synthetic BF16 safetensors; $(nproc) cores"

bench_hub "$work"
curl -sS "${auth[@]}" -X POST "$base/api/repos/create" -H 'content-type: application/json' -d '{"name":"bench"}' > /dev/null

median() { sort -g | sed -n "$(( (runs + 1) / 2 ))p"; }
gbps() { printf "%.2f" "$(echo "$bytes / $1 / 1000000000" | bc -l)"; }
ratio() { printf "%.2f" "$(echo "$1 / $2" | bc -l)"; }

# ---- LFS upload ----
up_times=()
for i in $(seq "$runs"); do
    # a fresh store each run would need a restart; instead upload under a different oid by
    # appending the run number, so every upload does the full work (chunk, hash, write)
    printf '%08d' "$i" >> "$file"
    o=$(sha256sum "$file" | cut -d' ' -f1)
    n=$(stat -c %s "$file")
    href=$(curl -sS "${auth[@]}" -X POST "$base/admin/bench.git/info/lfs/objects/batch" \
        -H 'content-type: application/vnd.git-lfs+json' \
        -d "{\"operation\":\"upload\",\"transfers\":[\"basic\"],\"objects\":[{\"oid\":\"$o\",\"size\":$n}]}" |
        grep -o '"upload":{"href":"[^"]*"' | sed -E 's/.*"href":"([^"]*)"/\1/')
    t=$(curl -sS -o /dev/null -w "%{time_total}" -T "$file" "$href")
    up_times+=("$t")
done
truncate -s "$bytes" "$file"
up=$(printf '%s\n' "${up_times[@]}" | median)
sha_t=()
for _ in $(seq "$runs"); do
    t0=$(date +%s.%N); openssl dgst -sha256 "$file" > /dev/null; t1=$(date +%s.%N)
    sha_t+=("$(echo "$t1 - $t0" | bc -l)")
done
sha=$(printf '%s\n' "${sha_t[@]}" | median)
echo
echo "== LFS upload over loopback (curl PUT of the whole file; chunk + dedup + SHA-256 + durable xorbs)"
echo "weft serve: $(gbps "$up") GB/s    openssl dgst -sha256 of the same file (SHA-NI): $(gbps "$sha") GB/s    weft/openssl $(ratio "$sha" "$up")x"

# commit the last uploaded object under a path, then download it
o=$oid
href=$(curl -sS "${auth[@]}" -X POST "$base/admin/bench.git/info/lfs/objects/batch" \
    -H 'content-type: application/vnd.git-lfs+json' \
    -d "{\"operation\":\"upload\",\"transfers\":[\"basic\"],\"objects\":[{\"oid\":\"$o\",\"size\":$bytes}]}" |
    grep -o '"upload":{"href":"[^"]*"' | sed -E 's/.*"href":"([^"]*)"/\1/' || true)
[ -n "$href" ] && curl -sS -o /dev/null -T "$file" "$href"
curl -sS "${auth[@]}" -X POST "$base/api/models/admin/bench/commit/main" -H 'content-type: application/x-ndjson' \
    --data-binary "{\"key\":\"header\",\"value\":{\"summary\":\"bench\"}}
{\"key\":\"lfsFile\",\"value\":{\"path\":\"model.bin\",\"algo\":\"sha256\",\"oid\":\"$o\",\"size\":$bytes}}" > /dev/null

# ---- nginx ----
mkdir -p "$work/nginx"
nport=$((20000 + RANDOM % 20000))
cat > "$work/nginx/nginx.conf" << EOF
worker_processes 1;
$( [ "$(id -u)" = 0 ] && echo 'user root;')
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 256; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    server { listen 127.0.0.1:$nport; root $work/www; }
}
EOF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
bench_pids+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$nport/model.bin" -r 0-0 && break; sleep 0.05; done

dl() {
    local out
    out=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' "$1")
    [ "${out% *}" = 200 ] || { echo "bench: GET $1 answered ${out% *}" >&2; exit 1; }
    echo "${out#* }"
}
w_t=() n_t=()
for _ in $(seq "$runs"); do
    w_t+=("$(dl "$base/admin/bench/resolve/main/model.bin")")
    n_t+=("$(dl "http://127.0.0.1:$nport/model.bin")")
done
w=$(printf '%s\n' "${w_t[@]}" | median)
n=$(printf '%s\n' "${n_t[@]}" | median)
got=$(curl -sS "$base/admin/bench/resolve/main/model.bin" | sha256sum | cut -d' ' -f1)
[ "$got" = "$oid" ] || { echo "bench: download differs"; exit 1; }
echo
echo "== single-stream download over loopback (curl, medians of $runs; chunk hashes re-checked)"
echo "weft serve: $(gbps "$w") GB/s    nginx (sendfile, same bytes): $(gbps "$n") GB/s    weft/nginx $(ratio "$n" "$w")x"

# ---- Xet upload (JS client) ----
src=$(cd "$(dirname "$0")/.." && pwd)
xsize=$((bytes < (256 << 20) ? bytes : (256 << 20)))
"$build/bench_gen_model" -o "$work/xet.bin" --size "$xsize" --seed 4 > /dev/null # bytes the store lacks
echo
echo "== upload through Xet with the official JS client ($(stat -c %s "$work/xet.bin") bytes; one run: the client's wasm chunker dominates)"
: > "$work/serve.err"
(cd "$src" && node bench/xet_upload.mjs "$base" "$token" "$work/xet.bin")
# the server's own time on the CAS POSTs, from its request log (in=bytes received, duration)
awk '$3 == "POST" && ($4 ~ /^\/v1\/xorbs\// || $4 ~ /^\/v1\/shards/) {
         sub("in=", "", $6); b += $6; sub("ms", "", $8); t += $8; n++ }
     END { if (t > 0) printf "server: %d CAS POSTs, %d bytes in %.2f s of request time = %.2f GB/s\n", n, b, t / 1000, b / t / 1e6 }' "$work/serve.err"

# ---- model_info rps ----
if command -v wrk > /dev/null; then
    echo
    echo "== model_info requests per second (wrk -t2 -c32 -d5s, GET /api/models/admin/bench)"
    wrk -t2 -c32 -d5s "$base/api/models/admin/bench" | grep -E 'Requests/sec|Non-2xx|Socket errors' || true
fi
