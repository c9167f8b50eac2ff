#!/usr/bin/env bash
# The background optimizer of `weft serve` (--optimize background, the default outside tests):
#  1. --optimize=off: a BF16 base and a fine-tune uploaded with `weft upload` stay as uploaded.
#  2. background: a second revision of the fine-tune is committed; without anyone running
#     `weft store optimize`, the hub codes the fine-tune's revisions as deltas against the base
#     its README names (weft store stats --by codec shows weft-diff frames), commits stay fast.
#  3. restart: a queue entry left in DATA/optimize-queue (what a hub stopped mid-work leaves) is
#     taken up by the next start: the base gets float frames, and the queue file empties.
# Then every file is bit-exact through resolve (whole and Range) and through the JS client's Xet
# path (@huggingface/hub XetBlob), fsck is clean, and SIGTERM stops the hub cleanly.
. "$(dirname "$0")/lib/common.sh"
size=$((6 << 20))
[ "$asan" = 1 ] && size=$((3 << 20))
. "$(dirname "$0")/lib/family.sh"
make_family "$size"
export HF_HOME=$work/hfhome WEFT_LOG=info
unset HF_TOKEN HUGGING_FACE_HUB_TOKEN HF_HUB_CACHE HF_ENDPOINT WEFT_CHUNK_CACHE HF_HUB_DISABLE_XET
up() { "$weft" upload --quiet --endpoint "$base" --token "$admin" "$@" > /dev/null 2> "$work/err" || fail "upload $*: $(cat "$work/err")"; }
st() { "$weft" store --store "$work/data" "$@"; }
frames() { st stats --by codec | grep -c '^weft-' || true; }
stop_hub() {
    kill -TERM "$hub_pid"
    for _ in $(seq 200); do kill -0 "$hub_pid" 2> /dev/null || break; sleep 0.05; done
    kill -0 "$hub_pid" 2> /dev/null && fail "weft serve did not stop within 10 s of SIGTERM"
    wait "$hub_pid" || fail "weft serve exited with $? on SIGTERM"
    rm -f "$work/port"
}
queue=$work/data/optimize-queue
# until: CONDITION (a shell snippet) holds, polling for up to 60 s
until_ok() {
    for _ in $(seq 600); do eval "$1" && return 0; sleep 0.1; done
    fail "timed out waiting for: $1 (stats: $(st stats --by codec); queue: $(cat "$queue" 2> /dev/null))"
}

# 1. off: nothing is coded
start_hub --optimize=off
up admin/base "$work/base.safetensors" model.safetensors --create
printf -- '---\nbase_model: admin/base\n---\n# a fine-tune\n' > "$work/README.md"
up admin/ft "$work/README.md" README.md --create
up admin/ft "$work/ft.safetensors" model.safetensors
sleep 2
[ "$(frames)" = 0 ] || fail "--optimize=off coded chunks: $(st stats --by codec)"
[ ! -s "$queue" ] || fail "--optimize=off queued work: $(cat "$queue")"
ok "--optimize=off: the store stays as uploaded"
stop_hub

# 2. background: a commit of a weight file queues its repo; the commit does not wait
start_hub --optimize=background
cp "$work/ft2.safetensors" "$work/model.safetensors"
t0=$(date +%s%N)
up admin/ft "$work/model.safetensors" model.safetensors
echo "commit of revision 2 took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
until_ok '[ "$(st stats --by codec | grep -c "^weft-diff")" -ge 1 ] && [ -f "$queue" ] && [ ! -s "$queue" ]'
st stats --by codec
grep -q "optimize: admin/ft model.safetensors (sha256 ${sf:0:12}).*delta against sha256 ${sb:0:12}" "$work/serve.err" ||
    fail "revision 1 was not coded against the base: $(grep optimize: "$work/serve.err")"
grep -q "optimize: admin/ft model.safetensors (sha256 ${s2:0:12}).*delta against sha256 ${sb:0:12}" "$work/serve.err" ||
    fail "revision 2 was not coded against the base: $(grep optimize: "$work/serve.err")"
[ "$(st stats --by codec | grep -c '^weft-float')" = 0 ] || fail "the base was coded though nobody queued it"
ok "after a commit the hub coded both fine-tune revisions as deltas in the background"
stop_hub

# 3. restart: the queue file a stopped hub leaves is taken up by the next start
printf 'admin/base\n' > "$queue"
start_hub --optimize=background
until_ok '[ "$(st stats --by codec | grep -c "^weft-float")" -ge 1 ] && [ ! -s "$queue" ]'
ok "a restarted hub takes up the queue it left (the base got float frames)"

get() { curl -sSf -H "authorization: Bearer $admin" "$@"; }
rev1=$(get "$base/api/models/admin/ft/commits/main" | grep -o '"id":"[0-9a-f]\{40\}"' | sed -n 2p | cut -d'"' -f4)
[ -n "$rev1" ] || fail "no first model commit of admin/ft"
for spec in "base:main:$sb:base" "ft:main:$s2:ft2" "ft:$rev1:$sf:ft"; do
    IFS=: read -r repo rev want file <<< "$spec"
    [ "$(get "$base/admin/$repo/resolve/$rev/model.safetensors" | sha256sum | cut -d' ' -f1)" = "$want" ] ||
        fail "$repo@$rev via resolve differs"
    for r in 0-0 100-70000 $((size / 2))-$((size / 2 + 300000)) $((size - 10))-; do
        a=${r%-*} b=${r#*-}
        get -r "$r" "$base/admin/$repo/resolve/$rev/model.safetensors" > "$work/part"
        if [ -n "$b" ]; then n=$((b - a + 1)); else n=$(( $(stat -c %s "$work/$file.safetensors") - a )); fi
        [ "$(stat -c %s "$work/part")" = "$n" ] || fail "$repo@$rev range $r: $(stat -c %s "$work/part") bytes, want $n"
        cmp -i "$a:0" -n "$n" "$work/$file.safetensors" "$work/part" || fail "$repo@$rev range $r differs"
    done
done
ok "resolve serves the background-optimized files bit-exact, whole and in ranges"

if command -v node > /dev/null && [ -d "$WEFT_SRC/node_modules/@huggingface/hub" ]; then
    cat > "$work/xet.mjs" << 'EOF'
import crypto from "node:crypto";
import * as hf from "@huggingface/hub";
const [url, token, repo, rev, want] = process.argv.slice(2);
const blob = await hf.downloadFile({ repo, revision: rev, path: "model.safetensors", hubUrl: url, accessToken: token });
if (!(blob instanceof hf.__internal_XetBlob)) throw new Error(`${repo}@${rev}: not the Xet path`);
const got = crypto.createHash("sha256").update(Buffer.from(await blob.arrayBuffer())).digest("hex");
if (got !== want) throw new Error(`${repo}@${rev}: sha256 ${got}, want ${want}`);
const part = Buffer.from(await blob.slice(65536, 265537).arrayBuffer());
if (part.length !== 200001) throw new Error(`${repo}@${rev}: slice of ${part.length} bytes`);
console.log(crypto.createHash("sha256").update(part).digest("hex"));
EOF
    ln -s "$WEFT_SRC/node_modules" "$work/node_modules"
    for spec in "base:main:$sb:base" "ft:main:$s2:ft2" "ft:$rev1:$sf:ft"; do
        IFS=: read -r repo rev want file <<< "$spec"
        got=$(node "$work/xet.mjs" "$base" "$admin" "admin/$repo" "$rev" "$want" 2> "$work/err") ||
            fail "JS client (Xet) admin/$repo@$rev: $(cat "$work/err")"
        [ "$got" = "$(tail -c +65537 "$work/$file.safetensors" | head -c 200001 | sha256sum | cut -d' ' -f1)" ] ||
            fail "JS client (Xet) admin/$repo@$rev: slice differs"
    done
    ok "the JS client's Xet path downloads the background-optimized files bit-exact"
else
    echo "note: node or @huggingface/hub is missing; the JS client check is skipped"
fi

st fsck > "$work/fsck" || fail "fsck: $(cat "$work/fsck")"
stop_hub
[ ! -s "$queue" ] || fail "the queue is not empty after a clean stop: $(cat "$queue")"
ok "fsck clean; SIGTERM stops the hub cleanly with nothing left queued"
