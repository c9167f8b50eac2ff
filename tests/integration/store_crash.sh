#!/usr/bin/env bash
# Acceptance: kill -9 at random moments, 24 times, on one store that already holds files: puts
# of a large file, puts of many short files on two threads, and gc runs in the middle of a
# rewrite. Afterwards fsck is clean, every earlier file and every file the store lists reads
# back bit-exact, and gc removes the leftovers.
source "$(dirname "$0")/lib/common.sh"
store=$work/store
rounds=24
big=$((200 << 20))
[ "$asan" = 1 ] && big=$((40 << 20))
for i in 1 2 3; do
    head -c $(( (i * 5) << 20 )) /dev/urandom > "$work/early$i"
    "$weft" store --store "$store" put "$work/early$i" > /dev/null
done
# Fresh bytes each time (AES-CTR keystream, fast), so every put writes new xorbs.
keystream() { head -c "$1" /dev/zero | openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' "$2")" -iv 0; }
keystream $big 999 > "$work/big"
t0=$(date +%s%N)
"$weft" store --store "$work/timing" put "$work/big" > /dev/null
span_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
rm -rf "$work/timing"
echo "one put of $big bytes takes ${span_ms} ms"
mkdir -p "$work/small"
killed=0
for r in $(seq $rounds); do
    case $((r % 3)) in
    0) # many short files, two threads
        rm -f "$work"/small/*
        for k in $(seq 30); do keystream $(( (k * 37 % 9 + 1) << 20 )) $((r * 100 + k)) > "$work/small/s$k"; done
        "$weft" store --store "$store" put -j 2 "$work"/small/* > /dev/null 2>&1 &
        ;;
    1) # gc in the middle of rewriting: make a sparse xorb first
        keystream $((24 << 20)) $((r * 1000)) > "$work/sparse"
        head -c $((4 << 20)) "$work/sparse" > "$work/sparse_head"
        "$weft" store --store "$store" put "$work/sparse" "$work/sparse_head" > /dev/null
        cp "$work/sparse_head" "$work/keep_$r"
        "$weft" store --store "$store" rm "$(sha256sum "$work/sparse" | cut -d' ' -f1)"
        "$weft" store --store "$store" gc --grace 0 > /dev/null 2>&1 &
        ;;
    *) # one large file
        keystream $big "$r" > "$work/big"
        "$weft" store --store "$store" put "$work/big" > /dev/null 2>&1 &
        ;;
    esac
    pid=$!
    if [ $((r % 3)) = 1 ]; then delay_ms=$(( RANDOM % 60 )); else delay_ms=$(( RANDOM % (span_ms * 9 / 10 + 1) )); fi
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    if kill -9 "$pid" 2> /dev/null; then killed=$((killed + 1)); fi
    wait "$pid" 2> /dev/null || true
done
echo "killed $killed of $rounds operations mid-way"
[ "$killed" -ge $((rounds / 2)) ] || fail "too few operations were interrupted ($killed): the test proves little"
"$weft" store --store "$store" fsck > "$work/fsck" || { cat "$work/fsck"; fail "fsck after kills"; }
ok "fsck clean after $killed kills"
for f in "$work"/early? "$work"/keep_*; do
    sha=$(sha256sum "$f" | cut -d' ' -f1)
    "$weft" store --store "$store" get "$sha" -o "$work/back"
    cmp "$f" "$work/back" || fail "$(basename "$f") changed"
done
ok "every earlier file reads back bit-exact"
# Whatever the store lists is complete: a file row exists only with all its data.
"$weft" store --store "$store" ls | while read -r sha xet size rest; do
    "$weft" store --store "$store" get "$sha" | sha256sum | grep -q "^$sha " || fail "listed file $sha is not intact"
done
ok "every listed file is complete"
# Leftovers of the killed runs are unreferenced: gc with no grace removes them, data stays.
"$weft" store --store "$store" gc --grace 0
"$weft" store --store "$store" fsck > "$work/fsck" || { cat "$work/fsck"; fail "fsck after gc"; }
grep -q " 0 unreferenced object" "$work/fsck" || fail "gc left leftovers: $(cat "$work/fsck")"
sha=$(sha256sum "$work/early2" | cut -d' ' -f1)
"$weft" store --store "$store" get "$sha" | cmp - "$work/early2" || fail "early file changed by gc"
ok "gc removed the leftovers and kept the files"
