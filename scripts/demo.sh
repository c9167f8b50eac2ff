#!/usr/bin/env bash
# make run (until the server exists): the chunk store at work on generated data.
# Puts a model-like file, then a copy with 1 MiB inserted in the middle, and shows what the
# second put stored anew and what it deduplicated. Store: $WEFT_HOME or ./weft-data.
set -euo pipefail
weft=${1:-build/weft}
build=$(dirname "$weft")
store=${WEFT_HOME:-./weft-data}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== generating a model-like safetensors file of about 64 MiB (synthetic BF16 weights)"
"$build/bench_gen_model" -o "$work/model.safetensors" --size $((64 << 20)) --seed 7
half=$(( $(stat -c %s "$work/model.safetensors") / 2 ))
head -c "$half" "$work/model.safetensors" > "$work/edited.safetensors"
head -c $((1 << 20)) /dev/urandom >> "$work/edited.safetensors"
tail -c +"$((half + 1))" "$work/model.safetensors" >> "$work/edited.safetensors"

echo
echo "== weft store put model.safetensors   (store: $store)"
"$weft" store --store "$store" put "$work/model.safetensors"
echo
echo "== weft store put edited.safetensors  (the same file with 1 MiB inserted in the middle)"
"$weft" store --store "$store" put "$work/edited.safetensors"
echo
echo "== weft store stats"
"$weft" store --store "$store" stats
echo
echo "== reading the edited file back and comparing"
oid=$(sha256sum "$work/edited.safetensors" | cut -d' ' -f1)
"$weft" store --store "$store" get "$oid" -o "$work/back"
cmp "$work/back" "$work/edited.safetensors" && echo "bit-exact: ok"
echo
echo "Try: $weft store --help    (the store stays in $store)"
