#!/usr/bin/env bash
# Acceptance: put a 256 MiB file, then a copy with 1 MiB inserted in the middle; the second put
# adds at most 1 MiB + 3 chunks (3 x 128 KiB) of new bytes, and both read back bit-exact.
source "$(dirname "$0")/lib/common.sh"
mib=256
[ "$asan" = 1 ] && mib=48 # the sanitizer build runs the same test on less data
store=$work/store
head -c $((mib << 20)) /dev/urandom > "$work/a"
half=$((mib << 19))
{ head -c $half "$work/a"; head -c $((1 << 20)) /dev/urandom; tail -c +$((half + 1)) "$work/a"; } > "$work/b"

"$weft" store --store "$store" put "$work/a" > "$work/put-a"
"$weft" store --store "$store" stats --json > "$work/s1"
"$weft" store --store "$store" put "$work/b" > "$work/put-b"
"$weft" store --store "$store" stats --json > "$work/s2"
u1=$(json_field "$work/s1" unique_bytes)
u2=$(json_field "$work/s2" unique_bytes)
added=$((u2 - u1))
limit=$(( (1 << 20) + 3 * 131072 ))
echo "second put added $added new bytes (limit $limit)"
[ "$added" -le "$limit" ] || fail "second put stored $added bytes anew, more than $limit"
[ "$added" -ge $((1 << 20)) ] || fail "second put stored only $added bytes: the inserted MiB is missing"
[ "$(json_field "$work/s2" files)" = 2 ] || fail "stats does not show 2 files"
ok "dedup: 1 MiB insert into ${mib} MiB stored $added new bytes"

for f in a b; do
    sha=$(sha256sum "$work/$f" | cut -d' ' -f1)
    grep -q "sha256    $sha" "$work/put-$f" || fail "put of $f printed a wrong SHA-256"
    "$weft" store --store "$store" get "$sha" -o "$work/$f.back"
    cmp "$work/$f" "$work/$f.back" || fail "$f does not read back bit-exact"
    xet=$(sed -n 's/^  xet hash  //p' "$work/put-$f")
    "$weft" store --store "$store" get "$xet" --range 1000-99999 -o "$work/$f.range"
    dd if="$work/$f" bs=1000 skip=1 count=99 status=none | cmp - "$work/$f.range" \
        || fail "range of $f differs"
done
ok "both files read back bit-exact, whole and by range, by either hash"
"$weft" store --store "$store" fsck > /dev/null || fail "fsck not clean"
ok "fsck clean"
