#!/usr/bin/env bash
# Several ingests at once into one store: three processes, two of them storing two files each on
# two threads (put -j 2), files sharing most of their content. All succeed, fsck is clean, every
# file reads back bit-exact, and a later file with the shared content dedups against it.
source "$(dirname "$0")/lib/common.sh"
store=$work/store
mib=24
[ "$asan" = 1 ] && mib=8
head -c $((mib << 20)) /dev/urandom > "$work/shared"
for i in 1 2 3 4 5 6; do
    { head -c $((i << 19)) /dev/urandom; cat "$work/shared"; head -c 1000 /dev/urandom; } > "$work/f$i"
done
"$weft" store --store "$store" put -j 2 "$work/f1" "$work/f2" > "$work/put1" 2>&1 &
p1=$!
"$weft" store --store "$store" put --jobs 2 "$work/f3" "$work/f4" > "$work/put2" 2>&1 &
p2=$!
"$weft" store --store "$store" put "$work/f5" "$work/f6" > "$work/put3" 2>&1 &
p3=$!
for p in $p1 $p2 $p3; do
    wait "$p" || fail "a concurrent put failed: $(cat "$work"/put?)"
done
for i in 1 2 3 4 5 6; do
    grep -q "^$work/f$i" "$work"/put? || fail "no report for f$i"
done
ok "3 processes, 5 threads, 6 files stored at once"
"$weft" store --store "$store" fsck > "$work/fsck" || fail "fsck after concurrent puts: $(cat "$work/fsck")"
for i in 1 2 3 4 5 6; do
    sha=$(sha256sum "$work/f$i" | cut -d' ' -f1)
    grep -q "sha256    $sha" "$work"/put? || fail "f$i: printed SHA-256 differs from sha256sum"
    "$weft" store --store "$store" get "$sha" | cmp - "$work/f$i" || fail "file $i differs"
done
"$weft" store --store "$store" stats --json > "$work/stats"
[ "$(json_field "$work/stats" files)" = 6 ] || fail "not 6 files"
# Uploads running side by side cannot see each other's uncommitted chunks (a missed dedup, not
# an error); once committed, the shared content dedups: a seventh file adds only its own head.
{ head -c $((1 << 20)) /dev/urandom; cat "$work/shared"; } > "$work/f7"
"$weft" store --store "$store" put "$work/f7" > "$work/put7"
u1=$(json_field "$work/stats" unique_bytes)
"$weft" store --store "$store" stats --json > "$work/stats2"
u2=$(json_field "$work/stats2" unique_bytes)
[ $((u2 - u1)) -le $(( (1 << 20) + 3 * 131072 )) ] || fail "f7 added $((u2 - u1)) bytes: dedup lost"
"$weft" store --store "$store" fsck > /dev/null || fail "fsck after f7"
ok "fsck clean, every file bit-exact; afterwards the shared content dedups ($((u2 - u1)) new bytes)"
