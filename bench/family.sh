#!/usr/bin/env bash
# A fine-tune family stored in a local `weft serve` and optimized with the weight codecs
# (issue 5 acceptance: >= 2.5x logical / physical over the family). A BF16 base and fine-tunes
# whose weights moved by 1%, 3% and 10% of each tensor's sigma (bench_gen_model --finetune),
# each with a second revision 0.5% further (--checkpoint) as a second commit of the same path;
# the fine-tunes' READMEs name the base (base_model:). Printed per file and overall: logical
# bytes, the store after plain Xet dedup (before optimize), zstd -3 of each file alone, and the
# store after `weft store optimize` (the base with the float codec, every fine-tune revision as
# a delta against the base); then every file is read back through resolve and its SHA-256
# checked.
#   bash bench/family.sh BUILD_DIR     (WEFT_BENCH_FAMILY_SIZE or WEFT_BENCH_SIZE bytes per file)
. "$(dirname "$0")/lib.sh"
bench_init family "${1:-build}"
size=${WEFT_BENCH_FAMILY_SIZE:-${WEFT_BENCH_SIZE:-1073741824}}
dim=1024
[ "$size" -ge $((512 << 20)) ] || dim=256 # small runs (bench_smoke): a smaller layer, not 78 MB
gen() { "$build/bench_gen_model" -o "$1" --size "$size" --dim "$dim" --seed 11 "${@:2}" > /dev/null 2>&1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
gen "$work/base.safetensors"
names=(base)
for p in 1 3 10; do
    gen "$work/ft$p.safetensors" --finetune "$p"
    gen "$work/ft$p-r2.safetensors" --finetune "$p" --checkpoint
    names+=("ft$p" "ft$p-r2")
done
echo "input: $(stat -c %s "$work/base.safetensors") bytes per file, ${#names[@]} files (bench_gen_model --seed 11 --dim $dim)"
echo "load: $(uptime | sed 's/.*load average/load average/')"

bench_hub "$work/hub"
up() { "$weft" upload --quiet --endpoint "$base" --token "$token" "$@" > /dev/null; }
up admin/base "$work/base.safetensors" model.safetensors --create
for p in 1 3 10; do
    printf -- '---\nbase_model: admin/base\n---\n# %s%% fine-tune\n' "$p" > "$work/README.md"
    up "admin/ft$p" "$work/README.md" README.md --create
    up "admin/ft$p" "$work/ft$p.safetensors" model.safetensors
    cp "$work/ft$p-r2.safetensors" "$work/model.safetensors"
    up "admin/ft$p" "$work/model.safetensors" model.safetensors
done
st() { "$weft" store --store "$work/hub/data" "$@"; }
field() { sed -E "s/.*\"$1\":([0-9]+).*/\1/"; }
xet_phys=$(st stats --json | field physical_bytes)
logical=0 zstd_total=0
declare -A zs opt_before opt_after
for n in "${names[@]}"; do
    zs[$n]=$(zstd -3 -T1 -c "$work/$n.safetensors" | wc -c)
    zstd_total=$((zstd_total + zs[$n]))
    logical=$((logical + $(stat -c %s "$work/$n.safetensors")))
done
t0=$(date +%s.%N)
sb=$(sha "$work/base.safetensors")
for n in "${names[@]}"; do
    if [ "$n" = base ]; then args=(); else args=(--base "$sb"); fi
    st optimize "$(sha "$work/$n.safetensors")" "${args[@]}" --json > "$work/opt-$n.json"
    opt_before[$n]=$(field before_bytes < "$work/opt-$n.json")
    opt_after[$n]=$(field after_bytes < "$work/opt-$n.json")
done
t1=$(date +%s.%N)
weft_phys=$(st stats --json | field physical_bytes)
r() { printf "%.2f" "$(echo "$1 / $2" | bc -l)"; }
echo
printf "%-8s %14s %14s %14s %14s %8s %8s\n" file logical "xet (stored)" "zstd -3" "weft" "weft x" "zstd x"
for n in "${names[@]}"; do
    b=$(stat -c %s "$work/$n.safetensors")
    printf "%-8s %14d %14d %14d %14d %7sx %7sx\n" "$n" "$b" "${opt_before[$n]}" "${zs[$n]}" "${opt_after[$n]}" \
        "$(r "$b" "${opt_after[$n]}")" "$(r "$b" "${zs[$n]}")"
done
echo
echo "family logical bytes: $logical"
echo "plain xet dedup (store before optimize): $xet_phys bytes, $(r "$logical" "$xet_phys")x"
echo "zstd -3 of each file: $zstd_total bytes, $(r "$logical" "$zstd_total")x"
echo "weft optimize (store after): $weft_phys bytes, family ratio $(r "$logical" "$weft_phys")x (target >= 2.5x)"
echo "optimize took $(printf "%.1f" "$(echo "$t1 - $t0" | bc -l)") s for $logical bytes ($(printf "%.0f" "$(echo "$logical / ($t1 - $t0) / 1000000" | bc -l)") MB/s)"
st stats --by codec
# every file back through resolve, bit-exact
for p in 1 3 10; do
    rev1=$(curl -sSf "${auth[@]}" "$base/api/models/admin/ft$p/commits/main" | grep -o '"id":"[0-9a-f]\{40\}"' | sed -n 2p | cut -d'"' -f4)
    got=$(curl -sSf "${auth[@]}" "$base/admin/ft$p/resolve/$rev1/model.safetensors" | sha256sum | cut -d' ' -f1)
    [ "$got" = "$(sha "$work/ft$p.safetensors")" ] || { echo "family: ft$p revision 1 differs" >&2; exit 1; }
    got=$(curl -sSf "${auth[@]}" "$base/admin/ft$p/resolve/main/model.safetensors" | sha256sum | cut -d' ' -f1)
    [ "$got" = "$(sha "$work/ft$p-r2.safetensors")" ] || { echo "family: ft$p revision 2 differs" >&2; exit 1; }
done
got=$(curl -sSf "${auth[@]}" "$base/admin/base/resolve/main/model.safetensors" | sha256sum | cut -d' ' -f1)
[ "$got" = "$sb" ] || { echo "family: the base differs" >&2; exit 1; }
echo "every file read back bit-exact through resolve (sha256)"
