#!/usr/bin/env bash
# Delta downloads against a real `weft serve`: resolve announces X-Weft-Delta-Base for a
# fine-tune whose README names its base_model (and for a file's previous version); with the base
# in the local cache `weft download` fetches the delta instead of the file (counted in the
# server's request log: no GET of the file's bytes, delta bytes well under the file's size) and
# the blob it rebuilds is bit-exact (sha256sum) in the Hugging Face cache layout; without the
# base, or with --no-delta, the whole file comes as before; a corrupt delta on the server falls
# back to the whole file; a base not offered is refused.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/upload.sh"

start_hub
client_env
gen() { "$WEFT_BUILD/bench_gen_model" --size $((16 << 20)) --dim 256 --seed 21 "$@" > /dev/null; }
mkdir -p "$work/base" "$work/ft" "$work/ft2"
gen -o "$work/base/model.safetensors"
gen -o "$work/ft/model.safetensors" --finetune 3
gen -o "$work/ft2/model.safetensors" --finetune 3 --checkpoint
printf -- '---\nbase_model: admin/base\n---\n# a fine-tune\n' > "$work/ft/README.md"
up admin/base "$work/base" --create > /dev/null
up admin/ft "$work/ft" --create > /dev/null
size=$(stat -c %s "$work/ft/model.safetensors")

# resolve announces the base (HEAD, as weft and huggingface_hub ask)
base_sha=$(sha256sum "$work/base/model.safetensors" | cut -d' ' -f1)
curl -sfI -H "Authorization: Bearer $admin" "$base/admin/ft/resolve/main/model.safetensors" > "$work/head.txt"
grep -qi "^x-weft-delta-base: $base_sha" "$work/head.txt" || fail "no X-Weft-Delta-Base: $(cat "$work/head.txt")"

# with the base cached: only the delta moves
"$weft" download --quiet admin/base > /dev/null
mark=$(lines "$work/serve.err")
"$weft" download --stats admin/ft > "$work/out.txt" 2> "$work/err.txt" || fail "download: $(cat "$work/err.txt")"
snap=$(cat "$work/out.txt")
[ "$(sha256sum < "$snap/model.safetensors" | cut -d' ' -f1)" = "$(local_sha "$work/ft/model.safetensors")" ] ||
    fail "the rebuilt fine-tune differs"
[ -L "$snap/model.safetensors" ] || fail "not a snapshot link into blobs/"
log_since "$work/serve.err" "$mark" 'GET /admin/ft/resolve/main/model.safetensors' | grep -q . &&
    fail "the file's bytes were fetched too"
log_since "$work/serve.err" "$mark" 'GET /v1/' | grep -q . && fail "Xet reconstructions were fetched too"
delta=$(log_since "$work/serve.err" "$mark" 'GET /api/models/admin/ft/weft-delta/' | sed -nE 's/.* 200 .* out=([0-9]+) .*/\1/p' |
    awk '{s+=$1} END {print s+0}')
[ "$delta" -gt 0 ] && [ "$delta" -lt $((size * 10 / 22)) ] || fail "delta of $delta bytes for a $size-byte file"
grep -q "delta: 1 file rebuilt" "$work/err.txt" || fail "no delta report: $(cat "$work/err.txt")"
ok "fine-tune at 3% σ: $delta bytes of delta instead of $size ($(echo "scale=2; $size / $delta" | bc)x), rebuilt bit-exact"

# the previous version of a file as the base: a later checkpoint of the fine-tune
cp "$work/ft2/model.safetensors" "$work/ft/model.safetensors"
up admin/ft "$work/ft/model.safetensors" > /dev/null
mark=$(lines "$work/serve.err")
snap=$("$weft" download --quiet admin/ft)
[ "$(sha256sum < "$snap/model.safetensors" | cut -d' ' -f1)" = "$(local_sha "$work/ft2/model.safetensors")" ] ||
    fail "the rebuilt checkpoint differs"
delta2=$(log_since "$work/serve.err" "$mark" 'GET /api/models/admin/ft/weft-delta/' | sed -nE 's/.* 200 .* out=([0-9]+) .*/\1/p' |
    awk '{s+=$1} END {print s+0}')
[ "$delta2" -gt 0 ] && [ "$delta2" -lt "$delta" ] || fail "checkpoint delta $delta2 bytes (first delta $delta)"
ok "a later checkpoint from its previous version: $delta2 bytes of delta"

# without the base in the cache, and with --no-delta: the whole file
for how in fresh no-delta; do
    export HF_HOME=$work/hf-$how
    args=(--quiet)
    [ "$how" = no-delta ] && { "$weft" download --quiet admin/base > /dev/null; args+=(--no-delta); }
    mark=$(lines "$work/serve.err")
    snap=$("$weft" download "${args[@]}" admin/ft)
    [ "$(sha256sum < "$snap/model.safetensors" | cut -d' ' -f1)" = "$(local_sha "$work/ft2/model.safetensors")" ] ||
        fail "$how: the file differs"
    log_since "$work/serve.err" "$mark" 'weft-delta' | grep -q . && fail "$how: a delta was asked for"
done
client_env
ok "no cached base, or --no-delta: the whole file, no delta asked for"

# a damaged delta on the server (the one of revision 1 against the base, made above): the client
# notices and fetches the whole file
for f in "$work"/data/deltas/*.weftdelta; do
    printf 'XXXX' | dd of="$f" bs=1 seek=300 conv=notrunc status=none
done
rev1=$(curl -sf -H "Authorization: Bearer $admin" "$base/api/models/admin/ft/commits/main" |
    node -pe 'JSON.parse(require("fs").readFileSync(0))[1].id')
export HF_HOME=$work/hf-damaged
"$weft" download --quiet admin/base > /dev/null
mark=$(lines "$work/serve.err")
snap=$("$weft" download --quiet --revision "$rev1" admin/ft 2> "$work/err.txt")
gen -o "$work/ft1.safetensors" --finetune 3
[ "$(sha256sum < "$snap/model.safetensors" | cut -d' ' -f1)" = "$(local_sha "$work/ft1.safetensors")" ] ||
    fail "revision 1 differs after the fallback"
log_since "$work/serve.err" "$mark" 'weft-delta/.* 200 ' | grep -q . || fail "no delta was tried"
grep -q "fetching the whole file" "$work/err.txt" || fail "no fallback warning: $(cat "$work/err.txt")"
log_since "$work/serve.err" "$mark" "GET /admin/ft/resolve/$rev1/model.safetensors .* 200 " | grep -q . ||
    log_since "$work/serve.err" "$mark" 'GET /v1/' | grep -q . || fail "the whole file was not fetched"
client_env
ok "a damaged delta falls back to the whole file, which verifies"

# a base that is not offered
expect_status 0 curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $admin" \
    "$base/api/models/admin/ft/weft-delta/main/model.safetensors?base=$(printf '%064d' 0)"
[ "$(cat "$work/out")" = 404 ] || fail "a base not offered gave $(cat "$work/out")"
ok "a delta from a base not offered is 404"

# resolve keeps what it worked out per (repo, commit, path) in memory: who may read the base repo
# is still asked every time, and a new head of the base repo is seen within seconds
announced() { curl -sfI "$@" "$base/admin/ft/resolve/main/model.safetensors" | grep -i '^x-weft-delta-base' | tr -d '\r' || true; }
announced -H "Authorization: Bearer $admin" | grep -q "$base_sha" || fail "the base is not announced any more"
"$weft" repo settings admin/base --private > /dev/null
announced | grep -q "$base_sha" && fail "an anonymous caller is told the private base: $(announced)"
announced -H "Authorization: Bearer $admin" | grep -q "$base_sha" || fail "the admin lost the private base"
"$weft" repo settings admin/base --public > /dev/null
gen -o "$work/base/model.safetensors" --seed 22
base2=$(sha256sum "$work/base/model.safetensors" | cut -d' ' -f1)
up admin/base "$work/base" > /dev/null
for _ in $(seq 100); do announced | grep -q "$base2" && break; sleep 0.1; done
announced | grep -q "$base2" || fail "the base repo's new head is not announced after 10 s: $(announced)"
ok "resolve's memo of delta bases: privacy asked per request, a new base head seen"
