#!/usr/bin/env bash
# kill -9 of `weft serve` in the middle of LFS uploads and commits, repeated: after each restart
# every commit the server acknowledged is still on the branch with its content, no half-made
# commit is visible (the branch head is always a complete commit: git fsck passes), and the
# store's fsck is clean.
. "$(dirname "$0")/lib/common.sh"
rounds=${WEFT_CRASH_ROUNDS:-6}
[ "$asan" = 1 ] && rounds=3
data=$work/data
pid=

start() {
    rm -f "$work/port"
    "$weft" serve --data "$data" --listen 127.0.0.1:0 --port-file "$work/port" --quiet >> "$work/serve.out" 2>> "$work/serve.err" &
    pid=$!
    for _ in $(seq 400); do [ -s "$work/port" ] && break; sleep 0.05; done
    [ -s "$work/port" ] || fail "server did not start: $(tail -5 "$work/serve.err")"
    base=http://127.0.0.1:$(cat "$work/port")
}
trap 'kill -9 $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
start
token=$(grep -o 'hf_[A-Za-z0-9]*' "$work/serve.out" | head -1)
auth=(-H "authorization: Bearer $token")
curl -sS "${auth[@]}" -X POST "$base/api/repos/create" -H 'content-type: application/json' -d '{"name":"crash"}' > /dev/null
: > "$work/acked" # lines "commitOid path sha256" for every acknowledged commit

# One client: uploads the LFS file made for it then commits it together with a small text file.
client() {
    local id=$1 f=$work/c$1.bin
    local oid size
    oid=$(sha256sum "$f" | cut -d' ' -f1)
    size=$(stat -c %s "$f")
    curl -s --max-time 60 "${auth[@]}" -X POST "$base/admin/crash.git/info/lfs/objects/batch" \
        -H 'content-type: application/vnd.git-lfs+json' \
        -d "{\"operation\":\"upload\",\"transfers\":[\"basic\"],\"objects\":[{\"oid\":\"$oid\",\"size\":$size}]}" > "$work/batch$id" || return 0
    local href
    href=$(grep -o '"upload":{"href":"[^"]*"' "$work/batch$id" | sed -E 's/.*"href":"([^"]*)"/\1/')
    if [ -n "$href" ]; then
        curl -s --max-time 60 -o /dev/null -f -X PUT --data-binary @"$f" "$href" || return 0
    fi
    local body
    body="{\"key\":\"header\",\"value\":{\"summary\":\"client $id\"}}
{\"key\":\"lfsFile\",\"value\":{\"path\":\"bin/c$id.bin\",\"algo\":\"sha256\",\"oid\":\"$oid\",\"size\":$size}}
{\"key\":\"file\",\"value\":{\"path\":\"txt/c$id.txt\",\"content\":\"$(printf 'client %s' "$id" | base64)\",\"encoding\":\"base64\"}}"
    local resp
    resp=$(curl -s --max-time 60 "${auth[@]}" -X POST "$base/api/models/admin/crash/commit/main" \
        -H 'content-type: application/x-ndjson' --data-binary "$body") || return 0
    local commit
    commit=$(printf '%s' "$resp" | grep -o '"commitOid":"[0-9a-f]*"' | cut -d'"' -f4)
    [ -n "$commit" ] && echo "$commit bin/c$id.bin $oid" >> "$work/acked"
    return 0
}

for round in $(seq "$rounds"); do
    for k in 1 2 3 4; do head -c $(((2 + k * 3) << 20)) /dev/urandom > "$work/c$round$k.bin"; done
    for k in 1 2 3 4; do client "$round$k" & done
    if [ "$round" = 1 ]; then
        wait $(jobs -p | grep -vx "$pid") 2> /dev/null || true # one round where all finish first
    else
        # kill somewhere between 0.1 s and 3 s in: before, during and after uploads and commits
        sleep "$((RANDOM % 3)).$((RANDOM % 9 + 1))"
    fi
    kill -9 "$pid"
    wait 2> /dev/null || true
    start
    # every acknowledged commit is an ancestor of main and its files read back intact
    head=$(curl -sS "$base/api/models/admin/crash" | grep -o '"sha":"[0-9a-f]*"' | cut -d'"' -f4)
    [ -n "$head" ] || fail "round $round: no head after restart"
    while read -r commit path oid; do
        git --git-dir="$data/repos/models/admin/crash.git" merge-base --is-ancestor "$commit" "$head" \
            || fail "round $round: acknowledged commit $commit lost"
        got=$(curl -sS "$base/admin/crash/resolve/$commit/$path" | sha256sum | cut -d' ' -f1)
        [ "$got" = "$oid" ] || fail "round $round: $path at $commit reads back wrong"
    done < "$work/acked"
    git --git-dir="$data/repos/models/admin/crash.git" fsck --no-progress 2> "$work/fsck" \
        || fail "round $round: git fsck: $(cat "$work/fsck")"
    ok "round $round: $(wc -l < "$work/acked") acknowledged commits intact"
done
kill -TERM "$pid"
wait "$pid" 2> /dev/null || true
"$weft" store --store "$data/store" fsck > "$work/fsck.out" || fail "store fsck: $(cat "$work/fsck.out")"
[ "$(wc -l < "$work/acked")" -gt 0 ] || fail "no commit was acknowledged in any round"
ok "store fsck clean after $rounds kills"
