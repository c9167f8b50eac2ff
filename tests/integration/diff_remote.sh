#!/usr/bin/env bash
# weft diff of two revisions on a real `weft serve` (its tensor-diff endpoint): files added,
# removed and changed; every changed safetensors file compared tensor by tensor where it is
# stored, with the same per-tensor figures as weft diff of the two local files; PATH narrows the
# report; the real stories260K base → fine-tune pair when ../shared/data is there; bad input
# exits with the documented codes.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/upload.sh"

start_hub
client_env

# revision 1: a model and a config; revision 2: every 97th byte of the data moved by one in the
# second half of the file (some tensors change, the first ones stay), config removed, a file added
# (.gitattributes stays identical)
mkdir -p "$work/r1" "$work/r2"
"$WEFT_BUILD/bench_gen_model" -o "$work/r1/model.safetensors" --size $((8 << 20)) --dim 256 --seed 7 > /dev/null
echo '{"hidden_size": 256}' > "$work/r1/config.json"
node -e '
const fs = require("fs"), b = fs.readFileSync(process.argv[1]);
for (let i = b.length >> 1; i < b.length; i += 97) b[i] = (b[i] + 1) & 255;
fs.writeFileSync(process.argv[2], b);' "$work/r1/model.safetensors" "$work/r2/model.safetensors"
echo "new" > "$work/r2/notes.txt"
up admin/m "$work/r1" --create > /dev/null
"$weft" tag create admin/m v1 > /dev/null
up admin/m "$work/r2" > /dev/null
"$weft" rm admin/m config.json > /dev/null

"$weft" diff --json admin/m@v1 admin/m@main > "$work/remote.json"
"$weft" diff --json "$work/r1/model.safetensors" "$work/r2/model.safetensors" > "$work/local.json"
[ "$(json "$work/remote.json" j.summary)" = '{"added":1,"removed":1,"changed":1,"identical":1}' ] ||
    fail "file summary $(json "$work/remote.json" j.summary)"
[ "$(json "$work/remote.json" 'j.files.map((f) => f.path + ":" + f.status).sort().join(" ")')" = \
  '"config.json:removed model.safetensors:changed notes.txt:added"' ] ||
    fail "files $(json "$work/remote.json" j.files.map\(\(f\)\ =\>\ f.path\))"
model='j.files.find((f) => f.path === "model.safetensors")'
[ "$(json "$work/remote.json" "$model.tensors")" = "$(json "$work/local.json" j.tensors)" ] ||
    fail "the server's tensor diff differs from the local one"
changed=$(json "$work/local.json" j.summary.changed)
identical=$(json "$work/local.json" j.summary.identical)
[ "$changed" -gt 0 ] && [ "$identical" -gt 0 ] || fail "test data: want changed and identical tensors"
ok "revisions: 1 added, 1 removed, 1 changed; model.safetensors: $changed tensors changed, $identical identical, as the local diff says"

# PATH: only that file, reported even when identical; the text report
"$weft" diff --json admin/m@v1 admin/m@main model.safetensors > "$work/one.json"
[ "$(json "$work/one.json" 'j.files.length')" = 1 ] || fail "PATH did not narrow the report"
"$weft" diff admin/m@v1 admin/m@main > "$work/text.txt"
grep -q '^changed *model.safetensors' "$work/text.txt" && grep -q '^added *notes.txt' "$work/text.txt" &&
    grep -q "summary: .* $changed changed" "$work/text.txt" || fail "text report: $(head -c 600 "$work/text.txt")"
ok "PATH narrows the report; the text report lists files and tensors"

# the real pair: stories260K base → its WikiText fine-tune, F32 and BF16
data=${WEFT_SHARED_DATA:-}
if [ -f "$data/stories260K-hf/model.safetensors" ]; then
    up admin/real "$data/stories260K-hf/model.safetensors" model.safetensors --create > /dev/null
    up admin/real "$data/stories260K-hf/model.bf16.safetensors" model.bf16.safetensors > /dev/null
    "$weft" tag create admin/real base > /dev/null
    up admin/real "$data/stories260K-wiki-ft/model.safetensors" model.safetensors > /dev/null
    up admin/real "$data/stories260K-wiki-ft/model.bf16.safetensors" model.bf16.safetensors > /dev/null
    "$weft" diff --json admin/real@base admin/real@main > "$work/real.json"
    for f in model.safetensors model.bf16.safetensors; do
        d=${f#model.}
        "$weft" diff --json "$data/stories260K-hf/$f" "$data/stories260K-wiki-ft/$f" > "$work/real_local.json"
        [ "$(json "$work/real.json" "j.files.find((f) => f.path === \"$f\").tensors")" = \
          "$(json "$work/real_local.json" j.tensors)" ] || fail "real pair $f: remote differs from local"
    done
    ok "stories260K base → fine-tune: $(json "$work/real.json" 'j.files.map((f) => f.path + " " + JSON.stringify(f.summary)).join("; ")')"
else
    echo "skip: the real pair needs ../shared/data (not found at ${data:-unset})"
fi

# bad input
expect_status 3 "$weft" diff admin/m@v1 admin/m@no-such-branch
expect_status 3 "$weft" diff admin/nope@v1 admin/nope@main
expect_status 3 "$weft" diff admin/m@v1 admin/m@main missing.safetensors
expect_status 2 "$weft" diff admin/m@v1 admin/other@main
expect_status 3 "$weft" diff "$work/absent.safetensors" "$work/r1/model.safetensors"
ok "unknown revision, repo or path exit 3; two repos exit 2"
