#!/usr/bin/env bash
# Bad input gets a clear error, a documented exit code, and changes nothing.
source "$(dirname "$0")/lib/common.sh"
store=$work/store
head -c 300000 /dev/urandom > "$work/a"
"$weft" store --store "$store" put "$work/a" > /dev/null
sha=$(sha256sum "$work/a" | cut -d' ' -f1)
"$weft" store --store "$store" stats --json > "$work/before"
cp "$store/index.db" "$work/index.before"

expect_status 3 "$weft" store --store "$store" get 0000000000000000000000000000000000000000000000000000000000000000
grep -q "no file with hash" "$work/err" || fail "unknown hash: $(cat "$work/err")"
expect_status 2 "$weft" store --store "$store" get not-a-hash
grep -q "not a hash" "$work/err" || fail "malformed hash: $(cat "$work/err")"
expect_status 2 "$weft" store --store "$store" get "$sha" --range 10-5
expect_status 2 "$weft" store --store "$store" get "$sha" --range abc
expect_status 2 "$weft" store --store "$store" get "$sha" --range 400000-400010
grep -q "range starts at 400000" "$work/err" || fail "oversize range: $(cat "$work/err")"
expect_status 0 "$weft" store --store "$store" get "$sha" --range 299990-999999
[ "$(stat -c %s "$work/out")" = 10 ] || fail "a range past the end is not clamped"
expect_status 3 "$weft" store --store "$store" rm ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
expect_status 3 "$weft" store --store "$store" put /nonexistent
expect_status 2 "$weft" store --store "$store" frobnicate
expect_status 2 "$weft" store --store "$store" gc --grace -5
"$weft" store --store "$store" stats --json > "$work/after"
cmp "$work/before" "$work/after" || fail "bad input changed the store"
ok "every bad input refused with a clear message; store unchanged"
"$weft" store --store "$store" get "$sha" | cmp - "$work/a"
ok "file intact"
