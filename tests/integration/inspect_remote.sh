#!/usr/bin/env bash
# weft inspect of files on a real `weft serve`, and the safetensors/gguf fields of model info:
# the remote report equals the local one; only header bytes move (request log, bytes out); a repo
# without PATH is inspected file by file with a total; info's parameter counts equal the headers';
# a corrupt file is a clear error (exit 4) and leaves the field out; missing things exit 3.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/upload.sh"

start_hub
client_env

"$WEFT_BUILD/bench_gen_model" -o "$work/model.safetensors" --size $((48 << 20)) --seed 3 > /dev/null
up admin/gen "$work/model.safetensors" --create > /dev/null

# ---- one remote file: same report as the local file, kilobytes moved ---------------------------
"$weft" inspect --json "$work/model.safetensors" > "$work/local.json"
mark=$(lines "$work/serve.err")
"$weft" inspect --json admin/gen model.safetensors > "$work/remote.json"
for e in j.tensors j.parameters j.total j.metadata j.file_size; do
    [ "$(json "$work/local.json" "$e")" = "$(json "$work/remote.json" "$e")" ] ||
        fail "remote inspect differs from local in $e"
done
moved=$(log_since "$work/serve.err" "$mark" 'GET /admin/gen/resolve/' | sed -nE 's/.* out=([0-9]+) .*/\1/p' |
    awk '{s+=$1} END {print s+0}')
size=$(stat -c %s "$work/model.safetensors")
[ "$moved" -gt 0 ] && [ "$moved" -lt $((1 << 20)) ] || fail "inspect moved $moved bytes of a $size-byte file"
ok "remote inspect of a $size-byte file equals the local report; $moved bytes moved"

# ---- a header longer than the first 100,000-byte read: a second range ---------------------------
node -e '
const n = 3000, t = {};
for (let i = 0; i < n; i++) t["layer." + String(i).padStart(5, "0") + ".a_rather_long_tensor_name.weight"] =
  { dtype: "F32", shape: [2], data_offsets: [8 * i, 8 * i + 8] };
let h = Buffer.from(JSON.stringify(t)); const pad = (8 - h.length % 8) % 8;
h = Buffer.concat([h, Buffer.alloc(pad, 0x20)]);
const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(h.length));
require("fs").writeFileSync(process.argv[1], Buffer.concat([len, h, Buffer.alloc(8 * n)]));' "$work/long.safetensors"
up admin/gen "$work/long.safetensors" > /dev/null
"$weft" inspect --json "$work/long.safetensors" > "$work/local2.json"
"$weft" inspect --json admin/gen long.safetensors > "$work/remote2.json"
[ "$(json "$work/local2.json" j.tensors)" = "$(json "$work/remote2.json" j.tensors)" ] ||
    fail "long header: remote differs from local"
[ "$(json "$work/remote2.json" j.tensors.length)" = 3000 ] || fail "long header: tensors missing"
ok "a $(stat -c %s "$work/long.safetensors")-byte file with a header past the first read"

# ---- a whole repo, and model info ---------------------------------------------------------------
gguf=${WEFT_SHARED_DATA:-}/stories260K.gguf
if [ -f "$gguf" ]; then
    up admin/gen "$gguf" > /dev/null
fi
"$weft" inspect admin/gen > "$work/repo.txt"
grep -q 'model.safetensors' "$work/repo.txt" && grep -q 'long.safetensors' "$work/repo.txt" ||
    fail "repo inspect did not show every file: $(head -c 400 "$work/repo.txt")"
"$weft" inspect --json admin/gen | tail -n 1 > "$work/repo_total.json"
curl -sf -H "Authorization: Bearer $admin" "$base/api/models/admin/gen" > "$work/info.json"
# info counts the model's weights as the official clients do: model.safetensors (long.safetensors
# is another file of the repo, not part of the model)
[ "$(json "$work/info.json" j.safetensors)" = "$(json "$work/local.json" '({parameters: j.parameters, total: j.total})')" ] ||
    fail "info safetensors $(json "$work/info.json" j.safetensors) != the header's"
if [ -f "$gguf" ]; then
    "$weft" inspect --json "$gguf" > "$work/gguf.json"
    [ "$(json "$work/info.json" j.gguf.total)" = "$(json "$work/gguf.json" j.total)" ] ||
        fail "info gguf.total $(json "$work/info.json" j.gguf) differs from the file's"
    [ "$(json "$work/info.json" j.gguf.architecture)" = '"llama"' ] || fail "gguf architecture"
    want=$(( $(json "$work/local.json" j.total) + $(json "$work/local2.json" j.total) + $(json "$work/gguf.json" j.total) ))
    [ "$(json "$work/repo_total.json" j.total)" = "$want" ] ||
        fail "repo inspect total $(cat "$work/repo_total.json"), want $want"
    ok "model info: safetensors $(json "$work/info.json" j.safetensors), gguf $(json "$work/info.json" j.gguf)"
else
    echo "skip: the GGUF part needs ../shared/data (not found at ${WEFT_SHARED_DATA:-unset})"
    ok "model info: safetensors $(json "$work/info.json" j.safetensors)"
fi

# ---- a sharded checkpoint: info sums the shards of model.safetensors.index.json -----------------
mkdir -p "$work/sharded"
# two shards with different tensors (BF16 matrices and F32 norms, random bytes) and their index
node -e '
const fs = require("fs"), crypto = require("crypto"), dir = process.argv[1], map = {};
for (const [i, f] of ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"].entries()) {
  const t = {}; let off = 0;
  for (let l = 3 * i; l < 3 * i + 3; l++) {
    for (const [n, dtype, shape] of [["mlp.weight", "BF16", [256, 320 + 64 * i]], ["norm.weight", "F32", [256]]]) {
      const name = `model.layers.${l}.${n}`, bytes = shape.reduce((a, b) => a * b) * (dtype === "BF16" ? 2 : 4);
      t[name] = {dtype, shape, data_offsets: [off, off + bytes]}; off += bytes; map[name] = f;
    }
  }
  let h = Buffer.from(JSON.stringify(t)); h = Buffer.concat([h, Buffer.alloc((8 - h.length % 8) % 8, 0x20)]);
  const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(h.length));
  fs.writeFileSync(dir + "/" + f, Buffer.concat([len, h, crypto.randomBytes(off)]));
}
fs.writeFileSync(dir + "/model.safetensors.index.json", JSON.stringify({metadata: {}, weight_map: map}));' "$work/sharded"
up admin/sharded "$work/sharded" --create > /dev/null
curl -sf -H "Authorization: Bearer $admin" "$base/api/models/admin/sharded" > "$work/info_sh.json"
t1=$("$weft" inspect --json "$work/sharded/model-00001-of-00002.safetensors" | node -pe 'JSON.parse(require("fs").readFileSync(0)).total')
t2=$("$weft" inspect --json "$work/sharded/model-00002-of-00002.safetensors" | node -pe 'JSON.parse(require("fs").readFileSync(0)).total')
[ "$(json "$work/info_sh.json" j.safetensors.total)" = $((t1 + t2)) ] ||
    fail "sharded info $(json "$work/info_sh.json" j.safetensors), want total $((t1 + t2))"

# ---- the official JS client reads the same headers and counts the same parameters ----------------
for r in admin/gen admin/sharded; do
    (cd "$WEFT_SRC" && node --input-type=module -e '
import * as hf from "@huggingface/hub";
const [hubUrl, accessToken, name] = process.argv.slice(1);
const m = await hf.parseSafetensorsMetadata({repo: name, computeParametersCount: true, hubUrl, accessToken});
const info = await hf.modelInfo({name, hubUrl, accessToken, additionalFields: ["safetensors"]});
const sorted = (o) => JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k]]));
if (sorted(m.parameterCount) !== sorted(info.safetensors.parameters))
  throw new Error(`parseSafetensorsMetadata ${JSON.stringify(m.parameterCount)} != info ${JSON.stringify(info.safetensors)}`);
console.log(`${name}: ${sorted(m.parameterCount)} sharded=${m.sharded}`);' "$base" "$admin" "$r")         > "$work/js.out" 2>&1 || fail "JS client: $(cat "$work/js.out")"
    ok "@huggingface/hub parseSafetensorsMetadata agrees with model info: $(cat "$work/js.out")"
done

# ---- errors -------------------------------------------------------------------------------------
expect_status 3 "$weft" inspect admin/gen missing.safetensors
expect_status 3 "$weft" inspect admin/nope
expect_status 3 "$weft" inspect admin/gen@no-such-branch model.safetensors
expect_status 3 "$weft" inspect "$work/absent.safetensors"
printf '\x10\x00\x00\x00\x00\x00\x00\x00{"a":{"dtype":"XX","shape":[1],"data_offsets":[0,1]}}' \
    > "$work/bad.safetensors"
up admin/bad "$work/bad.safetensors" --create > /dev/null
expect_status 4 "$weft" inspect admin/bad bad.safetensors
grep -q 'bad.safetensors' "$work/err" || fail "the error does not name the file: $(cat "$work/err")"
curl -sf -H "Authorization: Bearer $admin" "$base/api/models/admin/bad" > "$work/info_bad.json"
[ "$(json "$work/info_bad.json" '"safetensors" in j')" = false ] || fail "a corrupt file got a safetensors field"
ok "missing file/repo/revision exit 3; a corrupt header exits 4 ($(cat "$work/err")) and info leaves the field out"
