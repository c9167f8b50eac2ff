#!/usr/bin/env bash
# Bad input gets a clear error, a documented exit code, and changes nothing: unknown and
# malformed hashes, bad ranges, unknown options and subcommands, missing files.
source "$(dirname "$0")/lib/common.sh"
store=$work/store
head -c 300000 /dev/urandom > "$work/a"
"$weft" store --store "$store" put "$work/a" > /dev/null
sha=$(sha256sum "$work/a" | cut -d' ' -f1)
snapshot() {
    "$weft" store --store "$store" stats --json
    "$weft" store --store "$store" ls
    find "$store/xorbs" -type f -printf '%P %s\n' | sort
}
snapshot > "$work/before"

expect_status 3 "$weft" store --store "$store" get 0000000000000000000000000000000000000000000000000000000000000000
grep -q "no file with hash 0000" "$work/err" || fail "unknown hash: $(cat "$work/err")"
for bad in not-a-hash "${sha:0:63}" "${sha}0" "g${sha:1}" ""; do
    expect_status 2 "$weft" store --store "$store" get "$bad"
    grep -q "not a hash" "$work/err" || fail "malformed hash '$bad': $(cat "$work/err")"
done
expect_status 2 "$weft" store --store "$store" get "$sha" --range 10-5
grep -q "bad range '10-5'" "$work/err" || fail "reversed range: $(cat "$work/err")"
for r in abc 5 1-2-3 -0 " 1-2" 18446744073709551616-; do
    expect_status 2 "$weft" store --store "$store" get "$sha" --range "$r"
done
expect_status 2 "$weft" store --store "$store" get "$sha" --range 300000-300010
grep -q "range starts at 300000 but the file has 300000 bytes" "$work/err" \
    || fail "range past the end: $(cat "$work/err")"
expect_status 0 "$weft" store --store "$store" get "$sha" --range 299990-999999
[ "$(stat -c %s "$work/out")" = 10 ] || fail "a range running past the end is not cut"
expect_status 0 "$weft" store --store "$store" get "$sha" --range -7
tail -c 7 "$work/a" | cmp - "$work/out" || fail "suffix range -7"
expect_status 2 "$weft" store --store "$store" get "$sha" --bogus
expect_status 2 "$weft" store --store "$store" get
expect_status 3 "$weft" store --store "$store" rm "$sha" ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
expect_status 3 "$weft" store --store "$store" put /nonexistent
grep -q "/nonexistent" "$work/err" || fail "missing input not named: $(cat "$work/err")"
expect_status 2 "$weft" store --store "$store" put
expect_status 2 "$weft" store --store "$store" put -j 0 "$work/a"
expect_status 2 "$weft" store --store "$store" frobnicate
grep -q "unknown store subcommand 'frobnicate'" "$work/err" || fail "unknown subcommand"
expect_status 2 "$weft" store --store "$store" gc --grace -5
expect_status 2 "$weft" store --store "$store" stats --bogus
expect_status 2 "$weft" store --store "$store" fsck extra
snapshot > "$work/after"
diff "$work/before" "$work/after" || fail "bad input changed the store"
ok "every bad input refused with a clear message and exit code; store unchanged"
"$weft" store --store "$store" get "$sha" | cmp - "$work/a"
ok "file intact"
# Help for every subcommand, with examples.
for sub in put get ls rm stats fsck gc; do
    expect_status 0 "$weft" store "$sub" --help
    grep -q "^usage: weft store $sub" "$work/out" || fail "$sub --help has no usage line"
    grep -qi "example" "$work/out" || fail "$sub --help has no example"
done
expect_status 0 "$weft" store --help
expect_status 2 "$weft" store
ok "help for the store and each subcommand"
