#!/usr/bin/env bash
# weft inspect and weft diff on generated model files (bench_gen_model), on the real
# stories260K files of ../shared/data (when present), and on corrupt files: a clear message and
# the documented exit code. JSON output is checked with node.
source "$(dirname "$0")/lib/common.sh"
gen=${WEFT_BUILD:?}/bench_gen_model
[ -x "$gen" ] || { echo "skip: $gen not built"; exit 77; }
# js EXPR: evaluates EXPR with `j` = the JSON in $work/out, prints the result
js() { node -e "const j = JSON.parse(require('fs').readFileSync('$work/out', 'utf8')); console.log($1)"; }

# ---- generated files: two seeds of the same shapes, a copy, a one-byte edit ----
"$gen" -o "$work/a.safetensors" --size 2097152 --dim 128 --seed 1 > /dev/null
"$gen" -o "$work/b.safetensors" --size 2097152 --dim 128 --seed 2 > /dev/null
cp "$work/a.safetensors" "$work/c.safetensors"

expect_status 0 "$weft" inspect --json "$work/a.safetensors"
size=$(stat -c %s "$work/a.safetensors")
# one node run: tensor count, then every consistency check (parameter counts, BF16 byte sizes,
# the last tensor ending at the end of the file)
read -r n checks < <(js '[j.tensors.length,
  j.format === "safetensors" && j.total === j.parameters.BF16 &&
  j.total === j.tensors.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0) &&
  j.tensors.every(t => t.bytes === 2 * t.shape.reduce((a, b) => a * b, 1)) &&
  Math.max(...j.tensors.map(t => t.offset + t.bytes)) === '"$size"'].join(" ")')
[ "$n" -gt 5 ] || fail "inspect: $n tensors"
[ "$checks" = true ] || fail "inspect: counts, sizes or offsets disagree: $(cat "$work/out")"
expect_status 0 "$weft" inspect "$work/a.safetensors"
grep -q "safetensors, .* $n tensors" "$work/out" || fail "inspect text: $(head -1 "$work/out")"
grep -qE "^  BF16 +[0-9]+" "$work/out" || fail "inspect text: no BF16 parameter line"
ok "inspect of a generated file ($n tensors)"

expect_status 0 "$weft" diff "$work/a.safetensors" "$work/c.safetensors"
grep -q "summary: $n tensors: $n identical, 0 changed" "$work/out" || fail "diff a a: $(tail -1 "$work/out")"
expect_status 0 "$weft" diff --json "$work/a.safetensors" "$work/b.safetensors"
[ "$(js 'j.summary.changed === '"$n"' && j.tensors.every(t => t.rel_l2 > 0 && t.max_abs_diff > 0 && t.changed_share > 0.5)')" = true ] ||
    fail "diff a b: $(cat "$work/out")"
# one byte of the data flipped: exactly one tensor changed, one element
printf '\x55' | dd of="$work/c.safetensors" bs=1 seek=$((size - 1000)) conv=notrunc status=none
expect_status 0 "$weft" diff --json "$work/a.safetensors" "$work/c.safetensors"
[ "$(js 'j.summary.changed + ":" + j.summary.identical + ":" + j.tensors.find(t => t.status === "changed").changed_elements')" = "1:$((n - 1)):1" ] ||
    fail "one-byte edit: not exactly one element of one tensor changed: $(cat "$work/out")"
ok "diff of generated files: identical copy, other seed, one-byte edit"

# A header describing 8 GiB on a sparse file: only the header is read.
truncate -s 8G "$work/big.safetensors"
hdr='{"__metadata__":{"format":"pt"},"w":{"dtype":"F16","shape":[65536,65536],"data_offsets":[0,8589934592]}}'
printf '%s' "$hdr" > "$work/hdr.json"
node -e "const fs = require('fs'); const h = fs.readFileSync('$work/hdr.json'); const n = Buffer.alloc(8);
n.writeBigUInt64LE(BigInt(h.length)); const fd = fs.openSync('$work/big.safetensors', 'r+');
fs.writeSync(fd, Buffer.concat([n, h]), 0, 8 + h.length, 0); fs.closeSync(fd);"
truncate -s $((8 + ${#hdr} + 8589934592)) "$work/big.safetensors"
expect_status 0 "$weft" inspect --json "$work/big.safetensors"
[ "$(js 'j.total')" = 4294967296 ] || fail "sparse 8 GiB file: total $(js 'j.total')"
ok "inspect of an 8 GiB (sparse) file"

# A GGUF whose header (a 30,000-string array) is larger than the first 64 KiB read: the header
# is fetched in growing reads, then one F32 tensor after the padding.
node -e "
const parts = [], u32 = v => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
const u64 = v => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
const str = s => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);
parts.push(Buffer.from('GGUF'), u32(3), u64(1), u64(2));
parts.push(str('general.architecture'), u32(8), str('test'));
parts.push(str('tokenizer.ggml.tokens'), u32(9), u32(8), u64(30000));
for (let i = 0; i < 30000; i++) parts.push(str('token-' + i));
parts.push(str('w'), u32(2), u64(32), u64(2), u32(0), u64(0));
let h = Buffer.concat(parts);
h = Buffer.concat([h, Buffer.alloc((32 - h.length % 32) % 32), Buffer.alloc(256)]);
require('fs').writeFileSync('$work/big-header.gguf', h);"
expect_status 0 "$weft" inspect --json "$work/big-header.gguf"
[ "$(js 'j.metadata["tokenizer.ggml.tokens"].count + " " + j.total + " " + (j.data_offset > 65536)')" = "30000 64 true" ] ||
    fail "gguf with a large header: $(head -c 300 "$work/out")"
ok "inspect of a GGUF whose header is over 64 KiB"

# ---- corrupt files: exit 4 and a message naming the file and the problem ----
head -c $((size - 7)) "$work/a.safetensors" > "$work/short.safetensors"
expect_status 4 "$weft" inspect "$work/short.safetensors"
grep -q "short.safetensors: safetensors: the tensors end at byte .* the file has .* data bytes" "$work/err" ||
    fail "truncated data: $(cat "$work/err")"
expect_status 4 "$weft" diff "$work/a.safetensors" "$work/short.safetensors"
head -c 100 "$work/a.safetensors" > "$work/hdr-short.safetensors"
expect_status 4 "$weft" inspect "$work/hdr-short.safetensors"
grep -q "longer than the file" "$work/err" || fail "truncated header: $(cat "$work/err")"
head -c 4096 /dev/urandom > "$work/random.bin"
printf 'not a model at all' >> "$work/random.bin"
printf 'zzzzzzzz' | dd of="$work/random.bin" bs=1 conv=notrunc status=none
expect_status 4 "$weft" inspect "$work/random.bin"
grep -q "random.bin: safetensors: header size .* is over the limit" "$work/err" || fail "random: $(cat "$work/err")"
printf 'ab' > "$work/tiny"
expect_status 4 "$weft" inspect "$work/tiny"
grep -q "not a safetensors or GGUF file" "$work/err" || fail "tiny: $(cat "$work/err")"
bad='{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}'
node -e "const h = Buffer.from('$bad'); const n = Buffer.alloc(8); n.writeBigUInt64LE(BigInt(h.length));
require('fs').writeFileSync('$work/bad.safetensors', Buffer.concat([n, h, Buffer.alloc(4)]));"
expect_status 4 "$weft" inspect "$work/bad.safetensors"
grep -q "tensor w: F32 shape of 2 elements needs 8 bytes, data_offsets give 4" "$work/err" ||
    fail "size mismatch: $(cat "$work/err")"
printf 'GGUF\003\000\000\000' > "$work/short.gguf"
expect_status 4 "$weft" inspect "$work/short.gguf"
grep -q "short.gguf: gguf: header truncated" "$work/err" || fail "short gguf: $(cat "$work/err")"
expect_status 3 "$weft" inspect "$work/missing.safetensors"
expect_status 2 "$weft" inspect "$work"
expect_status 2 "$weft" inspect
expect_status 2 "$weft" diff "$work/a.safetensors"
expect_status 0 "$weft" inspect --help
grep -q "examples:" "$work/out" || fail "inspect --help has no examples"
ok "corrupt and missing files: exit 4/3/2 with clear messages"

# ---- the real stories260K files ----
data=${WEFT_SHARED_DATA:-}
if [ -z "$data" ] || [ ! -f "$data/stories260K-hf/model.safetensors" ]; then
    echo "skip: ../shared/data not found; real-file checks not run"
    exit 0
fi
base=$data/stories260K-hf/model.safetensors
ft=$data/stories260K-wiki-ft/model.safetensors
# The data README: relative change per tensor from 0.29% to 8.7% (median 2.7%), no element equal.
expect_status 0 "$weft" diff --json "$base" "$ft"
r=$(js '(() => { const r = j.tensors.map(t => t.rel_l2).sort((a, b) => a - b);
  return [j.summary.changed, j.tensors.every(t => t.changed_share === 1),
          ...[r[0], r[r.length - 1], r[23]].map(x => (100 * x).toFixed(2))].join(" "); })()')
[ "${r%% *}" = 47 ] || fail "real diff: $r changed"
r=${r#47 }
[ "${r%% *}" = true ] || fail "real diff: an element unchanged"
r=${r#true }
[ "$r" = "0.29 8.65 2.66" ] || fail "real diff: relative L2 min/max/median % = $r, README says 0.29 / 8.7 / 2.7"
expect_status 0 "$weft" diff "$data/stories260K-hf/model.bf16.safetensors" "$data/stories260K-hf/model.bf16.safetensors"
grep -q "summary: 47 tensors: 47 identical" "$work/out" || fail "bf16 with itself: $(tail -1 "$work/out")"
expect_status 0 "$weft" diff "$base" "$data/stories260K-hf/model.bf16.safetensors"
grep -q "47 retyped" "$work/out" || fail "F32 vs BF16: $(tail -1 "$work/out")"
expect_status 0 "$weft" diff --json "$base" "$data/lora-wiki/merged.safetensors"
[ "$(js 'j.summary.changed + ":" + j.summary.identical')" = "10:37" ] ||
    fail "LoRA merge touches q and v of 5 layers: $(js 'JSON.stringify(j.summary)')"
ok "diff of the real pair: relative L2 $r (min max median %), as the data README says"

expect_status 0 "$weft" inspect --json "$data/stories260K.gguf"
[ "$(js 'j.format + " " + j.version + " " + j.tensors.length + " " + j.metadata["general.architecture"] + " " + j.metadata["tokenizer.ggml.tokens"].count')" = "gguf 3 48 llama 512" ] ||
    fail "inspect gguf: $(head -c 300 "$work/out")"
expect_status 0 "$weft" inspect "$data/stories260K.gguf"
grep -q "llama.embedding_length = 64" "$work/out" || fail "inspect gguf text"
expect_status 2 "$weft" diff "$data/stories260K.gguf" "$base"
grep -q "diff compares safetensors files" "$work/err" || fail "diff of a GGUF: $(cat "$work/err")"
head -c 5000 "$data/stories260K.gguf" > "$work/cut.gguf"
expect_status 4 "$weft" inspect "$work/cut.gguf"
grep -q "header truncated" "$work/err" || fail "cut gguf: $(cat "$work/err")"
expect_status 0 "$weft" inspect --json "$data/stories260K-hf/model.bf16.safetensors"
[ "$(js 'j.parameters.BF16 + " " + j.total + " " + j.metadata.format')" = "260032 260032 pt" ] ||
    fail "inspect bf16: $(js 'JSON.stringify(j.parameters)')"
ok "inspect of the real GGUF and safetensors files"
