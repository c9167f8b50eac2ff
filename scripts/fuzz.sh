#!/usr/bin/env bash
# Runs every libFuzzer target in a build for a while: `bash scripts/fuzz.sh BUILD_DIR SECONDS`
# (what `make fuzz` calls after building with -DWEFT_FUZZ=ON). Each target fuzzes a scratch copy
# of its committed corpus (tests/fuzz/corpus/<name>/), so the repository is not touched; a crash,
# leak or timeout stops that target, its reproducer is kept under BUILD_DIR/fuzz-artifacts/, and
# the script exits non-zero at the end. Add a reproducer to the corpus once it is fixed.
set -u
build=${1:?usage: fuzz.sh BUILD_DIR SECONDS}
seconds=${2:?usage: fuzz.sh BUILD_DIR SECONDS}
src=$(cd "$(dirname "$0")/.." && pwd)
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"

shopt -s nullglob
targets=("$build"/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz: no fuzz_* binaries in $build (configure with -DWEFT_FUZZ=ON and clang)" >&2
    exit 1
fi

failed=()
for bin in "${targets[@]}"; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    short=${name#fuzz_}
    work=$(mktemp -d "${TMPDIR:-/tmp}/weft-fuzz-$short.XXXXXX")
    if [ -d "$src/tests/fuzz/corpus/$short" ]; then
        cp -r "$src/tests/fuzz/corpus/$short/." "$work/"
    fi
    echo "fuzz: $name for ${seconds}s on $(ls "$work" | wc -l) seed inputs"
    "$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=4096 -max_len=262144 \
        -print_final_stats=1 -artifact_prefix="$artifacts/$name-" "$work" \
        > "$artifacts/$name.log" 2>&1
    rc=$?
    tail -n 12 "$artifacts/$name.log" | grep -E 'stat::|Done|ERROR|SUMMARY' || true
    if [ $rc -ne 0 ]; then
        echo "fuzz: $name FAILED (exit $rc); log $artifacts/$name.log, reproducer in $artifacts/" >&2
        grep -E 'ERROR|SUMMARY|Test unit written' "$artifacts/$name.log" >&2 || true
        failed+=("$name")
    fi
    echo "fuzz: $name corpus grew to $(ls "$work" | wc -l) inputs (scratch copy $work)"
done

if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz: failures in ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, no crash in ${seconds}s each"
