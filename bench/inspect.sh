#!/usr/bin/env bash
# `weft inspect` of a large safetensors file on a local `weft serve`: bytes that cross the network
# (the server's request log, body bytes out) and wall time, beside the official JS client's
# parseSafetensorsMetadata on the same file in the same run. Goal (issue 5): < 1 MB moved for a
# 1 GB file.
#   bash bench/inspect.sh BUILD_DIR     (WEFT_BENCH_SIZE bytes, default 1 GiB)
. "$(dirname "$0")/lib.sh"
bench_init inspect "${1:-build}"
src=$(cd "$(dirname "$0")/.." && pwd)
size=${WEFT_BENCH_SIZE:-1073741824}

file=$work/model.safetensors
bench_model "$file" "$size" 6
bench_hub "$work" --no-xet
"$weft" upload admin/big "$file" --create --endpoint "$base" --token "$token" --quiet > /dev/null
rm -f "$file"

# out_since LINE PATTERN: body bytes the server sent for matching requests after log line LINE
out_since() {
    tail -n +"$(($1 + 1))" "$work/serve.err" | grep -E "$2" | sed -nE 's/.* out=([0-9]+) .*/\1/p' |
        awk '{s+=$1} END {print s+0}'
}
now() { date +%s.%N; }

mark=$(wc -l < "$work/serve.err")
t0=$(now)
"$weft" inspect admin/big model.safetensors --endpoint "$base" --token "$token" > "$work/inspect.txt"
t1=$(now)
weft_bytes=$(out_since "$mark" 'GET /admin/big/resolve/')
grep -q "total" "$work/inspect.txt"

mark=$(wc -l < "$work/serve.err")
t2=$(now)
(cd "$src" && node --input-type=module -e '
import * as hf from "@huggingface/hub";
const [hubUrl, accessToken] = process.argv.slice(1);
const m = await hf.parseSafetensorsMetadata({repo: "admin/big", path: "model.safetensors", hubUrl, accessToken});
if (!m.header) process.exit(1);' "$base" "$token")
t3=$(now)
js_bytes=$(out_since "$mark" 'GET /admin/big/resolve/')

echo "file: $bytes bytes of synthetic BF16 safetensors"
printf "weft inspect (remote): %d bytes moved, %.3f s\n" "$weft_bytes" "$(echo "$t1 - $t0" | bc -l)"
printf "@huggingface/hub parseSafetensorsMetadata: %d bytes moved, %.3f s\n" "$js_bytes" \
    "$(echo "$t3 - $t2" | bc -l)"
printf "weft inspect moved 1/%.0f of the file; weft/JS bytes %.2fx; goal < 1000000 bytes: %s\n" \
    "$(echo "$bytes / $weft_bytes" | bc -l)" "$(echo "$weft_bytes / $js_bytes" | bc -l)" \
    "$([ "$weft_bytes" -lt 1000000 ] && echo met || echo NOT met)"
