#!/usr/bin/env bash
# Acceptance: kill -9 at random moments of a large put, 20 times on one store holding earlier
# files; afterwards fsck is clean and every earlier file reads back bit-exact.
source "$(dirname "$0")/lib/common.sh"
store=$work/store
rounds=20
big=$((200 << 20))
[ "$asan" = 1 ] && big=$((48 << 20))
for i in 1 2 3; do
    head -c $(( (i * 5) << 20 )) /dev/urandom > "$work/early$i"
    "$weft" store --store "$store" put "$work/early$i" > /dev/null
done
head -c $big /dev/zero | openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' 999)" -iv 0 > "$work/big"
# How long one uninterrupted put takes, to spread the kills over its whole duration.
t0=$(date +%s%N)
"$weft" store --store "$work/timing" put "$work/big" > /dev/null
span_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
rm -rf "$work/timing"
echo "one put of $big bytes takes ${span_ms} ms"
killed=0
for r in $(seq $rounds); do
    # Fresh bytes each round (AES-CTR keystream, fast), so every put writes new xorbs.
    head -c $big /dev/zero | openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' "$r")" \
        -iv 0 > "$work/big"
    "$weft" store --store "$store" put "$work/big" > /dev/null 2>&1 &
    pid=$!
    delay_ms=$(( RANDOM % (span_ms * 9 / 10 + 1) ))
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    if kill -9 "$pid" 2> /dev/null; then killed=$((killed + 1)); fi
    wait "$pid" 2> /dev/null || true
done
echo "killed $killed of $rounds puts mid-way"
[ "$killed" -ge $((rounds / 2)) ] || fail "too few puts were interrupted ($killed): the test proves little"
"$weft" store --store "$store" fsck > "$work/fsck" || { cat "$work/fsck"; fail "fsck after kills"; }
ok "fsck clean after $killed kills"
for i in 1 2 3; do
    sha=$(sha256sum "$work/early$i" | cut -d' ' -f1)
    "$weft" store --store "$store" get "$sha" -o "$work/back$i"
    cmp "$work/early$i" "$work/back$i" || fail "early file $i changed"
done
ok "every earlier file reads back bit-exact"
# Leftovers of killed puts are unreferenced: gc with no grace removes them, data stays intact.
"$weft" store --store "$store" gc --grace 0
"$weft" store --store "$store" fsck > /dev/null || fail "fsck after gc"
sha=$(sha256sum "$work/early2" | cut -d' ' -f1)
"$weft" store --store "$store" get "$sha" | cmp - "$work/early2" || fail "early file changed by gc"
ok "gc removed the leftovers and kept the files"
