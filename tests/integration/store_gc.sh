#!/usr/bin/env bash
# gc: files removed with rm lose their unshared chunks; shared chunks and other files stay;
# a xorb mostly unused is rewritten smaller; nothing live is ever lost.
source "$(dirname "$0")/lib/common.sh"
store=$work/store
head -c $((6 << 20)) /dev/urandom > "$work/a"
head -c $((6 << 20)) /dev/urandom > "$work/b"
head -c $((1 << 20)) "$work/a" > "$work/a_head"      # shares a's first MiB
"$weft" store --store "$store" put "$work/a" "$work/b" > /dev/null
"$weft" store --store "$store" put "$work/a_head" > /dev/null
sha_a=$(sha256sum "$work/a" | cut -d' ' -f1)
sha_b=$(sha256sum "$work/b" | cut -d' ' -f1)
sha_h=$(sha256sum "$work/a_head" | cut -d' ' -f1)
"$weft" store --store "$store" stats --json > "$work/s0"
"$weft" store --store "$store" rm "$sha_b" "$sha_a"
"$weft" store --store "$store" gc --grace 0 > "$work/gc"
cat "$work/gc"
grep -q "1 xorbs deleted, 1 rewritten" "$work/gc" || fail "expected b's xorb deleted and a's rewritten"
"$weft" store --store "$store" stats --json > "$work/s1"
p0=$(json_field "$work/s0" physical_bytes); p1=$(json_field "$work/s1" physical_bytes)
[ "$p1" -lt $((2 << 20)) ] || fail "physical bytes after gc: $p1 (was $p0)"
"$weft" store --store "$store" get "$sha_h" | cmp - "$work/a_head" || fail "live file damaged by gc"
"$weft" store --store "$store" fsck > /dev/null || fail "fsck after gc"
expect_status 3 "$weft" store --store "$store" get "$sha_b"
ok "gc freed $((p0 - p1)) bytes; the live file is intact"
# Putting a again after gc works (its chunks are stored anew where needed).
"$weft" store --store "$store" put "$work/a" > /dev/null
"$weft" store --store "$store" get "$sha_a" | cmp - "$work/a" || fail "re-put after gc"
ok "re-put after gc reads back"
