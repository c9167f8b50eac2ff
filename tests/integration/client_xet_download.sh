#!/usr/bin/env bash
# `weft download` through Xet against a real `weft serve`: revision 1 of a 64 MiB file through
# reconstructions and signed fetches; revision 2 (1 MiB rewritten in the middle) with the same
# chunk cache moves at most 1 MiB + 3 chunks through /v1/fetch (counted in the server's request
# log); an empty chunk cache moves the whole file; --no-xet uses the plain resolve GET; a damaged
# chunk cache piece is detected, refetched and never reaches the file.
. "$(dirname "$0")/lib/common.sh"

start_hub
export HF_HOME=$work/hfhome
unset HF_TOKEN HUGGING_FACE_HUB_TOKEN HUGGINGFACE_API_KEY HF_HUB_CACHE HF_ENDPOINT WEFT_CHUNK_CACHE HF_HUB_DISABLE_XET
size=$((64 << 20))
[ "$asan" = 1 ] && size=$((24 << 20)) # the sanitizer build hashes and decodes ~5x slower
mib=$((1 << 20))

api() { # api METHOD PATH [curl args...]
    local m=$1 p=$2
    shift 2
    curl -sSf -X "$m" -H "authorization: Bearer $admin" "$@" "$base$p"
}
# lfs_commit FILE MESSAGE: uploads FILE through the LFS batch API as model.bin; prints the commit
lfs_commit() {
    local oid n href
    oid=$(sha256sum "$1" | cut -d' ' -f1)
    n=$(stat -c %s "$1")
    api POST /admin/big.git/info/lfs/objects/batch -H 'content-type: application/vnd.git-lfs+json' \
        -d "{\"operation\":\"upload\",\"transfers\":[\"basic\"],\"objects\":[{\"oid\":\"$oid\",\"size\":$n}]}" > "$work/batch"
    href=$(grep -o '"upload":{"href":"[^"]*"' "$work/batch" | sed -E 's/.*"href":"([^"]*)"/\1/' || true)
    [ -z "$href" ] || curl -sSf -X PUT --data-binary @"$1" "$href" > /dev/null
    api POST /api/models/admin/big/commit/main -H 'content-type: application/x-ndjson' --data-binary \
        "{\"key\":\"header\",\"value\":{\"summary\":\"$2\"}}
{\"key\":\"lfsFile\",\"value\":{\"path\":\"model.bin\",\"algo\":\"sha256\",\"oid\":\"$oid\",\"size\":$n}}" |
        sed -E 's/.*"commitOid":"([0-9a-f]{40})".*/\1/'
}
log_lines() { wc -l < "$work/serve.err"; }
# settle: the server logs a request after answering it; wait until the log stops growing
settle() {
    local a b
    a=$(log_lines)
    for _ in $(seq 20); do
        sleep 0.1
        b=$(log_lines)
        [ "$a" = "$b" ] && return
        a=$b
    done
}
# since LINE PATTERN: log lines after LINE matching PATTERN
since() { tail -n +"$(($1 + 1))" "$work/serve.err" | grep -E "$2" || true; }
# out_bytes LINE PATTERN: body bytes the server sent for those lines
out_bytes() { since "$1" "$2" | sed -E 's/.* out=([0-9]+) .*/\1/' | awk '{s += $1} END {print s + 0}'; }
# dl CHUNK_CACHE HUB_CACHE [args...]: downloads model.bin, output in $work/out, stderr in $work/err
dl() {
    local cc=$1 hub=$2
    shift 2
    WEFT_CHUNK_CACHE=$cc "$weft" download admin/big model.bin --endpoint "$base" --token "$admin" \
        --cache-dir "$hub" --stats "$@" > "$work/out" 2> "$work/err" ||
        fail "weft download $*: $(cat "$work/err")"
    settle
}

api POST /api/repos/create -H 'content-type: application/json' -d '{"name":"big"}' > /dev/null
head -c "$size" /dev/urandom > "$work/v1.bin"
cp "$work/v1.bin" "$work/v2.bin"
head -c "$mib" /dev/urandom | dd of="$work/v2.bin" bs="$mib" seek=$((size / 2 / mib)) conv=notrunc status=none
rev1=$(lfs_commit "$work/v1.bin" one)
rev2=$(lfs_commit "$work/v2.bin" two)
[[ $rev1 =~ ^[0-9a-f]{40}$ && $rev2 =~ ^[0-9a-f]{40}$ ]] || fail "commits: '$rev1' '$rev2'"
sha1=$(sha256sum < "$work/v1.bin" | cut -d' ' -f1)
sha2=$(sha256sum < "$work/v2.bin" | cut -d' ' -f1)
# resolve advertises Xet for the LFS file, so weft download takes that path
curl -sSfI -H "authorization: Bearer $admin" "$base/admin/big/resolve/main/model.bin" |
    grep -qi '^x-xet-hash: [0-9a-f]\{64\}' || fail "resolve does not advertise Xet"

# ---- revision 1 with an empty chunk cache: every byte through /v1/fetch ----
cc=$work/chunks
l0=$(log_lines)
dl "$cc" "$work/hub1" --revision "$rev1"
got=$(sha256sum < "$(cat "$work/out")" | cut -d' ' -f1)
[ "$got" = "$sha1" ] || fail "revision 1: bytes differ"
[ -n "$(since "$l0" 'GET /v1/reconstructions/[0-9a-f]{64} 200')" ] || fail "no reconstruction request"
moved=$(out_bytes "$l0" 'GET /v1/fetch/')
[ "$moved" -ge "$size" ] || fail "revision 1 moved $moved bytes through /v1/fetch, want >= $size"
[ -z "$(since "$l0" 'GET /admin/big/resolve/')" ] || fail "revision 1 also used a plain GET"
grep -q "xet: .* from the CAS" "$work/err" || fail "no Xet stats line: $(cat "$work/err")"
[ "$(find "$cc" -type f | wc -l)" -ge 1 ] || fail "the chunk cache stayed empty"
ok "revision 1 through Xet: $moved bytes fetched, sha256 matches"

# ---- revision 2 with the same chunk cache: only the rewritten MiB and its neighbours ----
l0=$(log_lines)
dl "$cc" "$work/hub2" --revision "$rev2"
got=$(sha256sum < "$(cat "$work/out")" | cut -d' ' -f1)
[ "$got" = "$sha2" ] || fail "revision 2: bytes differ"
moved=$(out_bytes "$l0" 'GET /v1/fetch/')
limit=$((mib + 3 * 131072 + 4096)) # 1 MiB + 3 chunks, plus 8-byte chunk headers
[ "$moved" -gt 0 ] && [ "$moved" -le "$limit" ] ||
    fail "revision 2 moved $moved bytes through /v1/fetch, want 1..$limit"
grep -q "xet: $moved bytes from the CAS" "$work/err" || fail "stats disagree with the log: $(cat "$work/err")"
ok "revision 2 after revision 1: $moved bytes fetched (limit $limit), sha256 matches"

# ---- an empty chunk cache moves the whole file again ----
l0=$(log_lines)
dl "$work/chunks-empty" "$work/hub3" --revision "$rev2"
moved=$(out_bytes "$l0" 'GET /v1/fetch/')
[ "$moved" -ge "$size" ] || fail "empty cache: $moved bytes through /v1/fetch, want >= $size"
[ "$(sha256sum < "$(cat "$work/out")" | cut -d' ' -f1)" = "$sha2" ] || fail "empty cache: bytes differ"
ok "an empty chunk cache fetches all $moved bytes"

# ---- --no-xet: the plain resolve GET, no CAS traffic ----
l0=$(log_lines)
dl "$cc" "$work/hub4" --revision "$rev2" --no-xet
[ -z "$(since "$l0" '/v1/(fetch|reconstructions)')" ] || fail "--no-xet still used the CAS"
plain=$(out_bytes "$l0" 'GET /admin/big/resolve/')
[ "$plain" -ge "$size" ] || fail "--no-xet: $plain bytes through resolve, want >= $size"
[ "$(sha256sum < "$(cat "$work/out")" | cut -d' ' -f1)" = "$sha2" ] || fail "--no-xet: bytes differ"
ok "--no-xet downloads with plain GETs ($plain bytes)"

# ---- a damaged cache piece: detected, refetched, never written ----
# the smallest piece with data past its table (revision 2 uses every piece in the cache)
piece=$(find "$cc" -type f -size +64k -printf '%s %p\n' | sort -n | head -1 | cut -d' ' -f2)
psize=$(stat -c %s "$piece")
b=$(od -An -tu1 -j $((psize - 1000)) -N1 "$piece" | tr -d ' ')
printf "\\$(printf '%03o' $(((b + 1) % 256)))" |
    dd of="$piece" bs=1 seek=$((psize - 1000)) conv=notrunc status=none
l0=$(log_lines)
dl "$cc" "$work/hub5" --revision "$rev2"
[ "$(sha256sum < "$(cat "$work/out")" | cut -d' ' -f1)" = "$sha2" ] || fail "damaged cache: bytes differ"
moved=$(out_bytes "$l0" 'GET /v1/fetch/')
[ "$moved" -gt 0 ] && [ "$moved" -le "$psize" ] ||
    fail "damaged cache: $moved bytes refetched, want 1..$psize (the damaged piece)"
grep -q "1 damaged cache piece" "$work/err" || fail "damage not reported: $(cat "$work/err")"
# the damaged piece was replaced by good ones: the next download fetches nothing
l0=$(log_lines)
dl "$cc" "$work/hub6" --revision "$rev2"
[ "$(out_bytes "$l0" 'GET /v1/fetch/')" = 0 ] || fail "the damaged piece was not replaced"
[ "$(sha256sum < "$(cat "$work/out")" | cut -d' ' -f1)" = "$sha2" ] || fail "after repair: bytes differ"
ok "a damaged cache piece is detected and refetched ($moved bytes), then served again"
