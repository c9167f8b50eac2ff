#!/usr/bin/env bash
# weft store optimize on a hub's store: a BF16 base and a fine-tune (every weight moved, a
# different header size) uploaded to a running `weft serve`, the fine-tune's revision 2 as a
# second commit, then optimized (base: float codec; fine-tunes: deltas against the base) while
# the hub runs. Afterwards every file is identical through resolve (whole and Range), through
# `weft download` (the Xet reconstruction path) and through git-lfs; the store shrank; the base
# cannot be removed while deltas need it; a bad safetensors header is a clear error that
# changes nothing; and kill -9 at random moments of repeated optimize runs loses nothing (fsck
# clean, files bit-exact, gc removes the leftovers).
. "$(dirname "$0")/lib/common.sh"
size=$((10 << 20))
[ "$asan" = 1 ] && size=$((4 << 20))
. "$(dirname "$0")/lib/family.sh"
make_family "$size"

start_hub
export HF_HOME=$work/hfhome
unset HF_TOKEN HUGGING_FACE_HUB_TOKEN HF_HUB_CACHE HF_ENDPOINT WEFT_CHUNK_CACHE HF_HUB_DISABLE_XET
up() { "$weft" upload --quiet --endpoint "$base" --token "$admin" "$@" > /dev/null 2> "$work/err" || fail "upload $*: $(cat "$work/err")"; }
up admin/base "$work/base.safetensors" model.safetensors --create
printf -- '---\nbase_model: admin/base\n---\n# a fine-tune\n' > "$work/README.md"
up admin/ft "$work/README.md" README.md --create
up admin/ft "$work/ft.safetensors" model.safetensors
cp "$work/ft2.safetensors" "$work/model.safetensors"
up admin/ft "$work/model.safetensors" model.safetensors
ok "base and fine-tune (two revisions) uploaded"

st() { "$weft" store --store "$work/data" "$@"; }
before=$(st stats --json | json_field /dev/stdin physical_bytes)
# the hub's data directory: bases found from the README card (base_model: admin/base)
"$weft" store optimize --data "$work/data" > "$work/o1" 2>&1 || fail "optimize --data: $(cat "$work/o1")"
cat "$work/o1"
grep -q "^admin/base model.safetensors (sha256 ${sb:0:12})" "$work/o1" || fail "the base was not optimized"
for s in "$sf" "$s2"; do
    grep -q "^admin/ft model.safetensors (sha256 ${s:0:12}).*delta against sha256 ${sb:0:12}" "$work/o1" ||
        fail "fine-tune ${s:0:12} was not coded against the base"
done
# explicit hashes: nothing left to do
st optimize "$s2" --base "$sb" --json > "$work/o3" || fail "optimize ft rev 2: $(cat "$work/o3")"
grep -q '"chunks_coded":0' "$work/o3" || fail "a second optimize re-coded chunks: $(cat "$work/o3")"
after=$(st stats --json | json_field /dev/stdin physical_bytes)
echo "physical bytes: $before before optimize, $after after"
[ "$after" -lt $((before * 3 / 4)) ] || fail "optimize saved too little: $before -> $after"
st stats --by codec | grep -q '^weft-diff' || fail "stats --by codec lists no deltas: $(st stats --by codec)"
ok "optimize shrank the store ($before -> $after bytes)"
st stats --repo admin/ft --json > "$work/rs" || fail "stats --repo: $(cat "$work/rs")"
lg=$(sed -E 's/.*"logical_bytes":([0-9]+).*/\1/' "$work/rs") ph=$(sed -E 's/.*"physical_bytes":([0-9]+).*/\1/' "$work/rs")
[ "$lg" = $(( $(stat -c %s "$work/ft.safetensors") + $(stat -c %s "$work/ft2.safetensors") )) ] || fail "stats --repo logical: $(cat "$work/rs")"
[ "$ph" -lt $((lg / 3)) ] || fail "stats --repo physical: $(cat "$work/rs")"
st stats --repo admin > "$work/rs" || fail "stats --repo admin: $(cat "$work/rs")"
grep -q "^admin (all repos)" "$work/rs" && grep -q "^admin/base " "$work/rs" || fail "stats --repo admin: $(cat "$work/rs")"
cat "$work/rs"
ok "stats per repo and per namespace"

# resolve: whole files and ranges
get() { curl -sSf -H "authorization: Bearer $admin" "$@"; }
[ "$(get "$base/admin/base/resolve/main/model.safetensors" | sha256sum | cut -d' ' -f1)" = "$sb" ] || fail "base via resolve"
[ "$(get "$base/admin/ft/resolve/main/model.safetensors" | sha256sum | cut -d' ' -f1)" = "$s2" ] || fail "ft rev 2 via resolve"
rev1=$(get "$base/api/models/admin/ft/commits/main" | grep -o '"id":"[0-9a-f]\{40\}"' | sed -n 2p | cut -d'"' -f4)
[ -n "$rev1" ] || fail "no first commit of admin/ft"
[ "$(get "$base/admin/ft/resolve/$rev1/model.safetensors" | sha256sum | cut -d' ' -f1)" = "$sf" ] || fail "ft rev 1 via resolve"
for r in 0-0 100-70000 65530-65540 $((size / 2))-$((size / 2 + 300000)) $((size - 10))-; do
    a=${r%-*} b=${r#*-}
    get -r "$r" "$base/admin/ft/resolve/main/model.safetensors" > "$work/part"
    if [ -n "$b" ]; then n=$((b - a + 1)); else n=$(( $(stat -c %s "$work/ft2.safetensors") - a )); fi
    [ "$(stat -c %s "$work/part")" = "$n" ] || fail "range $r: $(stat -c %s "$work/part") bytes, want $n"
    cmp -i "$a:0" -n "$n" "$work/ft2.safetensors" "$work/part" || fail "range $r differs"
done
ok "resolve serves the optimized files bit-exact, whole and in ranges"

# weft download: the Xet path (reconstruction + /v1/fetch of the served view)
for spec in "admin/base:$sb:main" "admin/ft:$s2:main" "admin/ft:$sf:$rev1"; do
    IFS=: read -r repo want rev <<< "$spec"
    rm -rf "$work/dl"
    "$weft" download "$repo" model.safetensors --revision "$rev" --endpoint "$base" --token "$admin" \
        --local-dir "$work/dl" > /dev/null 2> "$work/err" || fail "weft download $repo: $(cat "$work/err")"
    [ "$(sha "$work/dl/model.safetensors")" = "$want" ] || fail "$repo@$rev via Xet differs"
done
ok "weft download (Xet) gets identical bytes"

if command -v git-lfs > /dev/null; then
    export HOME=$work/home GIT_TERMINAL_PROMPT=0 GIT_CONFIG_NOSYSTEM=1
    mkdir -p "$HOME"
    git lfs install --skip-repo > /dev/null
    port=${base##*:}
    git clone -q "http://admin:$admin@127.0.0.1:$port/admin/ft" "$work/clone" 2> "$work/err" || fail "git clone: $(cat "$work/err")"
    [ "$(sha "$work/clone/model.safetensors")" = "$s2" ] || fail "git-lfs got other bytes"
    ok "git-lfs clone gets identical bytes"
else
    echo "note: git-lfs is not installed; its check is skipped"
fi

# the base stays while deltas need it
expect_status 1 st rm "$sb"
grep -q "delta base" "$work/err" || fail "rm of the base: $(cat "$work/err")"
st gc --grace 0 > /dev/null
st fsck > "$work/fsck" || fail "fsck: $(cat "$work/fsck")"
[ "$(get "$base/admin/base/resolve/main/model.safetensors" | sha256sum | cut -d' ' -f1)" = "$sb" ] || fail "base after gc"
ok "the base cannot be removed while deltas need it; gc keeps it"

# a damaged header: a clear error, nothing changes
cp "$work/base.safetensors" "$work/bad.safetensors"
printf '\377\377\377\377' | dd of="$work/bad.safetensors" bs=1 seek=0 conv=notrunc 2> /dev/null
"$weft" store --store "$work/data" put "$work/bad.safetensors" > /dev/null
n0=$(find "$work/data/store/xorbs" -type f | wc -l)
expect_status 4 st optimize "$(sha "$work/bad.safetensors")"
grep -q "not a valid safetensors file" "$work/err" || fail "bad header message: $(cat "$work/err")"
[ "$(find "$work/data/store/xorbs" -type f | wc -l)" = "$n0" ] || fail "a failed optimize wrote objects"
ok "a bad safetensors header is a clear error and changes nothing"

# kill -9 during optimize: alternate delta and plain coding so every run has work to do
t0=$(date +%s%N)
st optimize "$sf" --no-delta > /dev/null
span_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
killed=0
rounds=8
[ "$asan" = 1 ] && rounds=6
for r in $(seq $rounds); do
    if [ $((r % 2)) = 1 ]; then args=(--base "$sb"); else args=(--no-delta); fi
    "$weft" store --store "$work/data" optimize "$sf" "${args[@]}" > /dev/null 2>&1 & # weft itself, so kill -9 hits it
    pid=$!
    delay_ms=$(( RANDOM % (span_ms / 2 + 1) ))
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    if kill -9 "$pid" 2> /dev/null; then killed=$((killed + 1)); fi
    wait "$pid" 2> /dev/null || true
    st fsck > "$work/fsck" || fail "fsck after kill $r: $(cat "$work/fsck")"
done
echo "killed $killed of $rounds optimize runs (one run takes ${span_ms} ms)"
[ "$killed" -ge 3 ] || fail "too few runs were interrupted ($killed)"
for spec in "base:$sb" "ft:$s2"; do
    IFS=: read -r repo want <<< "$spec"
    [ "$(get "$base/admin/$repo/resolve/main/model.safetensors" | sha256sum | cut -d' ' -f1)" = "$want" ] || fail "$repo after kills"
done
[ "$(st get "$sf" | sha256sum | cut -d' ' -f1)" = "$sf" ] || fail "ft rev 1 after kills"
st gc --grace 0 > /dev/null
st fsck > "$work/fsck" || fail "fsck after gc: $(cat "$work/fsck")"
grep -q " 0 unreferenced object" "$work/fsck" || fail "gc left leftovers: $(cat "$work/fsck")"
[ "$(st get "$sf" | sha256sum | cut -d' ' -f1)" = "$sf" ] || fail "ft rev 1 after gc"
ok "kill -9 during optimize loses nothing; fsck clean; gc removes the leftovers"
