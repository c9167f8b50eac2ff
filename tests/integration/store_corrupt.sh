#!/usr/bin/env bash
# Acceptance: one flipped byte inside a xorb -> fsck names the damaged xorb and the affected
# files and exits 4; get of an affected file fails with a clear error, exit 4, and writes no
# wrong bytes: with -o nothing at all, to stdout only the good bytes before the damage.
source "$(dirname "$0")/lib/common.sh"
store=$work/store
head -c $((3 << 20)) /dev/urandom > "$work/a"
head -c $((1 << 20)) "$work/a" > "$work/a_head"   # shares a's xorb
head -c $((2 << 20)) /dev/urandom > "$work/other"
"$weft" store --store "$store" put "$work/a" > /dev/null
"$weft" store --store "$store" put "$work/a_head" "$work/other" > /dev/null
sha_a=$(sha256sum "$work/a" | cut -d' ' -f1)
sha_h=$(sha256sum "$work/a_head" | cut -d' ' -f1)
sha_other=$(sha256sum "$work/other" | cut -d' ' -f1)
# a's xorb is the only object over 2.5 MiB.
xorb=$(find "$store/xorbs" -type f -size +2500k)
[ "$(echo "$xorb" | wc -l)" = 1 ] || fail "expected one large xorb: $xorb"
name=$(basename "$xorb")
pos=$(( (2 << 20) + 12345 ))   # inside a chunk only a uses
byte=$(dd if="$xorb" bs=1 skip=$pos count=1 status=none | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $(( byte ^ 0x40 )))" | dd of="$xorb" bs=1 seek=$pos conv=notrunc status=none

expect_status 4 "$weft" store --store "$store" fsck
grep -q "damaged xorb $name" "$work/out" || fail "fsck did not name xorb $name: $(cat "$work/out")"
grep -q "affects file sha256 $sha_a" "$work/out" || fail "fsck did not name file a"
grep -q "affects file sha256 $sha_h" "$work/out" || fail "fsck did not name a_head (same xorb)"
grep -q "$sha_other" "$work/out" && fail "fsck blamed an intact file"
grep -q "problem" "$work/err" || fail "fsck printed no summary on stderr"
ok "fsck names the damaged xorb and both files that use it"

expect_status 4 "$weft" store --store "$store" get "$sha_a" -o "$work/a.back"
grep -q "xorb $name is damaged" "$work/err" || fail "unclear error: $(cat "$work/err")"
[ -z "$(ls "$work" | grep -e a.back)" ] || fail "get left an output file behind"
ok "get -o of the damaged file fails clearly and writes nothing"
expect_status 4 "$weft" store --store "$store" get "$sha_a"
n=$(stat -c %s "$work/out")
[ "$n" -lt $(( (2 << 20) + 12345 )) ] || fail "get wrote $n bytes, past the damage"
cmp -n "$n" "$work/out" "$work/a" || fail "get wrote wrong bytes before the damage"
ok "get to stdout stops before the damaged chunk ($n good bytes, none wrong)"
expect_status 4 "$weft" store --store "$store" get "$sha_a" --range "$n-$((n + 10))"
[ ! -s "$work/out" ] || fail "a range inside the damaged chunk wrote bytes"
"$weft" store --store "$store" get "$sha_a" --range 0-99999 | cmp - <(head -c 100000 "$work/a") \
    || fail "an intact range of the damaged file does not read"
"$weft" store --store "$store" get "$sha_h" | cmp - "$work/a_head" || fail "a_head unreadable"
"$weft" store --store "$store" get "$sha_other" | cmp - "$work/other" || fail "other unreadable"
ok "intact files and intact ranges still read back"
