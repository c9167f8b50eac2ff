#!/usr/bin/env bash
# Acceptance: one flipped byte inside a xorb -> fsck names the damaged xorb and the affected
# files and exits 4; get of an affected file fails with a clear error and writes no output.
source "$(dirname "$0")/lib/common.sh"
store=$work/store
head -c $((3 << 20)) /dev/urandom > "$work/a"
head -c $((2 << 20)) /dev/urandom > "$work/other"
"$weft" store --store "$store" put "$work/a" > /dev/null
"$weft" store --store "$store" put "$work/other" > /dev/null
sha_a=$(sha256sum "$work/a" | cut -d' ' -f1)
sha_other=$(sha256sum "$work/other" | cut -d' ' -f1)
# The xorb holding file a is the first one written.
xorb=$(ls -tr "$store"/xorbs/*/* | head -n 1)
name=$(basename "$xorb")
pos=$(( $(stat -c %s "$xorb") / 3 ))
byte=$(dd if="$xorb" bs=1 skip=$pos count=1 status=none | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $(( byte ^ 0x40 )))" | dd of="$xorb" bs=1 seek=$pos conv=notrunc status=none

expect_status 4 "$weft" store --store "$store" fsck
grep -q "damaged xorb $name" "$work/out" || fail "fsck did not name xorb $name: $(cat "$work/out")"
grep -q "affects file sha256 $sha_a" "$work/out" || fail "fsck did not name the affected file"
grep -q "$sha_other" "$work/out" && fail "fsck blamed an intact file"
ok "fsck names the damaged xorb and the affected file"

expect_status 4 "$weft" store --store "$store" get "$sha_a" -o "$work/a.back"
grep -q "xorb $name is damaged" "$work/err" || fail "unclear error: $(cat "$work/err")"
[ ! -e "$work/a.back" ] || fail "get left an output file behind"
ok "get of the damaged file fails clearly, no output"
"$weft" store --store "$store" get "$sha_other" | cmp - "$work/other" || fail "intact file unreadable"
ok "the intact file still reads back"
