# Sourced by the store optimize tests: a small fine-tune family to optimize.
# make_family SIZE: writes $work/base.safetensors (bench_gen_model, BF16, SIZE bytes),
# $work/ft.safetensors (every weight moved, another header size: lib/family.py) and its revision 2
# $work/ft2.safetensors; sets sb, sf, s2 to their SHA-256 and defines sha FILE. Skips the test
# (exit 77) when python3 is missing.
make_family() {
    local gen=${WEFT_BUILD:?}/bench_gen_model family
    family=$(dirname "${BASH_SOURCE[0]}")/family.py
    command -v python3 > /dev/null || { echo "skip: python3 is not installed"; exit 77; }
    "$gen" -o "$work/base.safetensors" --size "$1" --dim 256 > /dev/null
    python3 "$family" "$work/base.safetensors" "$work/ft.safetensors" 1
    python3 "$family" "$work/ft.safetensors" "$work/ft2.safetensors" 2
    sb=$(sha "$work/base.safetensors") sf=$(sha "$work/ft.safetensors") s2=$(sha "$work/ft2.safetensors")
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
