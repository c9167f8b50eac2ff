#!/usr/bin/env bash
# Runs the whole ctest suite in each build dir given, then prints one summary line:
# "tests: N passed, N failed" over all builds. Exits non-zero if anything failed.
set -u
passed=0; failed=0; skipped=0; status=0
for dir in "$@"; do
    echo "=== ctest in $dir ==="
    log=$(mktemp)
    ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    [ "$rc" -eq 0 ] || status=1
    line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -n 1)
    total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
    nfail=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$line")
    nskip=$(grep -c -E '\*\*\*Skipped|Not Run' "$log" || true)
    if [ -z "$line" ]; then status=1; nfail=1; total=1; fi
    passed=$((passed + total - nfail - nskip)); failed=$((failed + nfail)); skipped=$((skipped + nskip))
    rm -f "$log"
done
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
