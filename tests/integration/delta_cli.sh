#!/usr/bin/env bash
# weft delta create/apply/info: bit-exact round trips on the real stories260K pair (F32 and BF16
# bases, the fine-tune and its checkpoints, whose headers differ in size from the base's) and on
# a generated fine-tune family (bench_gen_model --finetune); a wrong base, a corrupted or
# truncated delta: the documented exit code and nothing written; the lossy tiers: errors in the
# order 1bit > int4 > int8 and apply reproducing the hash create printed.
source "$(dirname "$0")/lib/common.sh"
data=${WEFT_SHARED_DATA:-${WEFT_SRC:?}/../shared/data}
gen=${WEFT_BUILD:?}/bench_gen_model

# no_leftovers DIR: no temp file of an interrupted write is left in DIR
no_leftovers() { ! ls "$1" | grep -q '\.tmp\.' || fail "temp files left in $1: $(ls "$1")"; }

# roundtrip BASE FT NAME: create, apply, compare; prints the ratio line
roundtrip() {
    expect_status 0 "$weft" delta create "$1" "$2" -o "$work/$3.wd"
    grep -q "lossless .* (ratio [0-9.]*x)" "$work/out" || fail "create summary: $(cat "$work/out")"
    expect_status 0 "$weft" delta apply "$1" "$work/$3.wd" -o "$work/$3.out"
    grep -q "sha256 $(sha256sum < "$2" | cut -c1-64) ok" "$work/out" || fail "apply summary: $(cat "$work/out")"
    cmp -s "$2" "$work/$3.out" || fail "$3: rebuilt file differs from the fine-tune"
    rm -f "$work/$3.out"
    no_leftovers "$work"
}

expect_status 2 "$weft" delta create a b
grep -q -- "-o FILE is required" "$work/err" || fail "usage message: $(cat "$work/err")"
expect_status 2 "$weft" delta create --lossy int3 a b -o c
expect_status 3 "$weft" delta create "$work/none" "$work/none2" -o "$work/c"
expect_status 0 "$weft" delta --help
grep -q "examples:" "$work/out" || fail "help has no examples"
ok "usage errors"

if [ -d "$data/stories260K-hf" ]; then
    hf=$data/stories260K-hf ft=$data/stories260K-wiki-ft
    roundtrip "$hf/model.safetensors" "$ft/model.safetensors" f32
    roundtrip "$hf/model.bf16.safetensors" "$ft/model.bf16.safetensors" bf16
    for c in "$ft"/checkpoints/*.safetensors; do
        roundtrip "$hf/model.safetensors" "$c" "ckpt-$(basename "$c" .safetensors)"
    done
    # a checkpoint against the final fine-tune (header sizes differ: matching goes by name)
    roundtrip "$ft/model.safetensors" "$ft/checkpoints/step-0500.safetensors" ckpt-vs-final
    ok "real pair: F32, BF16 and 3 checkpoints rebuilt bit-exactly"

    # wrong base: exit 1, a clear message, nothing written
    expect_status 1 "$weft" delta apply "$hf/model.bf16.safetensors" "$work/f32.wd" -o "$work/x"
    grep -q "wrong base" "$work/err" || fail "wrong base message: $(cat "$work/err")"
    cp "$hf/model.safetensors" "$work/base-edited"
    printf '\x01' | dd of="$work/base-edited" bs=1 seek=5000 conv=notrunc status=none
    expect_status 1 "$weft" delta apply "$work/base-edited" "$work/f32.wd" -o "$work/x"
    grep -q "wrong base: .* has sha256 [0-9a-f]\{64\}, the delta was made against" "$work/err" ||
        fail "wrong base (same size) message: $(cat "$work/err")"
    [ ! -e "$work/x" ] || fail "wrong base: output written"
    no_leftovers "$work"
    ok "wrong base: exit 1, nothing written"

    # corrupted delta: a flipped byte in the coded data, a truncation, a bad magic: exit 4
    size=$(stat -c %s "$work/f32.wd")
    for off in $((size / 2)) $((size - 3)); do
        cp "$work/f32.wd" "$work/bad.wd"
        printf '\xa5' | dd of="$work/bad.wd" bs=1 seek=$off conv=notrunc status=none
        expect_status 4 "$weft" delta apply "$hf/model.safetensors" "$work/bad.wd" -o "$work/x"
        [ ! -e "$work/x" ] || fail "corrupt delta: output written"
    done
    head -c $((size - 100)) "$work/f32.wd" > "$work/bad.wd"
    expect_status 4 "$weft" delta apply "$hf/model.safetensors" "$work/bad.wd" -o "$work/x"
    grep -q "delta file" "$work/err" || fail "truncated delta message: $(cat "$work/err")"
    printf 'NOTDELTA' | dd of="$work/bad.wd" bs=1 conv=notrunc status=none
    expect_status 4 "$weft" delta apply "$hf/model.safetensors" "$work/bad.wd" -o "$work/x"
    grep -q "not a weft delta file" "$work/err" || fail "bad magic message: $(cat "$work/err")"
    [ ! -e "$work/x" ] || fail "corrupt delta: output written"
    no_leftovers "$work"
    ok "corrupt deltas: exit 4, nothing written"

    # lossy tiers on both dtypes
    for base in model.safetensors model.bf16.safetensors; do
        prev=0
        for kind in int8 int4 1bit; do
            expect_status 0 "$weft" delta create --lossy $kind "$hf/$base" "$ft/$base" -o "$work/l.wd"
            rel=$(sed -n 's/^overall: .* rel_l2 vs delta \([0-9.e+-]*\),.*/\1/p' "$work/out")
            want=$(sed -n 's/.*lossy result sha256 \([0-9a-f]\{64\}\).*/\1/p' "$work/out")
            [ -n "$rel" ] && [ -n "$want" ] || fail "lossy $kind report: $(cat "$work/out")"
            awk -v a="$rel" -v b="$prev" 'BEGIN { exit !(a > b) }' ||
                fail "$base: $kind error $rel not above the previous tier's $prev"
            prev=$rel
            expect_status 0 "$weft" delta info "$work/l.wd"
            grep -q "^kind: $kind" "$work/out" || fail "info: $(cat "$work/out")"
            expect_status 0 "$weft" delta apply "$hf/$base" "$work/l.wd" -o "$work/l.out"
            [ "$(sha256sum < "$work/l.out" | cut -c1-64)" = "$want" ] || fail "$kind: apply gave another file"
            ! cmp -s "$work/l.out" "$ft/$base" || fail "$kind: lossy result equals the fine-tune"
            echo "     $base $kind: rel_l2 vs delta $rel"
        done
    done
    ok "lossy tiers: error 1bit > int4 > int8, apply reproduces create's hash"
else
    echo "skip: $data not found; real-pair checks not run"
fi

# a generated family: 1%, 3% and 10% sigma fine-tunes of one BF16 base
if [ -x "$gen" ] && { "$gen" --help 2>&1 || true; } | grep -q -- --finetune; then
    "$gen" -o "$work/base.st" --size 3000000 --dim 128 --seed 3 > /dev/null
    prev=0
    for p in 1 3 10; do
        "$gen" -o "$work/ft$p.st" --size 3000000 --dim 128 --seed 3 --finetune $p > /dev/null
        roundtrip "$work/base.st" "$work/ft$p.st" "gen$p"
        s=$(stat -c %s "$work/gen$p.wd")
        [ "$s" -gt "$prev" ] || fail "delta at $p% ($s bytes) not larger than at the smaller move"
        prev=$s
        rm -f "$work/ft$p.st"
    done
    ok "generated family: 1%, 3%, 10% rebuilt bit-exactly, sizes grow with the move"
else
    echo "skip: bench_gen_model has no --finetune; generated family not run"
fi
