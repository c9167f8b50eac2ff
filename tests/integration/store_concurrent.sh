#!/usr/bin/env bash
# Several ingests at once, from separate processes, into one store: all succeed, files that
# share content deduplicate, fsck is clean and every file reads back.
source "$(dirname "$0")/lib/common.sh"
store=$work/store
mib=24
[ "$asan" = 1 ] && mib=8
head -c $((mib << 20)) /dev/urandom > "$work/shared"
for i in 1 2 3 4; do
    { head -c $((i << 20)) /dev/urandom; cat "$work/shared"; } > "$work/f$i"
done
pids=()
for i in 1 2 3 4; do
    "$weft" store --store "$store" put "$work/f$i" > "$work/put$i" 2>&1 &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent put failed: $(cat "$work"/put*)"; done
ok "4 concurrent puts succeeded"
"$weft" store --store "$store" fsck > /dev/null || fail "fsck after concurrent puts"
for i in 1 2 3 4; do
    sha=$(sha256sum "$work/f$i" | cut -d' ' -f1)
    "$weft" store --store "$store" get "$sha" | cmp - "$work/f$i" || fail "file $i differs"
done
"$weft" store --store "$store" stats --json > "$work/stats"
[ "$(json_field "$work/stats" files)" = 4 ] || fail "not 4 files"
ok "fsck clean, every file bit-exact"
