#!/usr/bin/env bash
# weft cache ls|rm|prune on a Hugging Face cache the official JS client (@huggingface/hub,
# snapshotDownload) filled from a real `weft serve`: sizes count each blob once, rm REPO@REV keeps
# the other revision whole and removes only the blobs nothing links to any more, the JS client
# reuses what is left without downloading again, prune --older-than goes by the blobs' times,
# bad input fails with clear messages and exit codes.
source "$(dirname "$0")/lib/common.sh"
command -v node > /dev/null || { echo "skip: node is not installed"; exit 77; }
[ -d "$WEFT_SRC/node_modules/@huggingface/hub" ] || { echo "skip: run scripts/install-deps.sh"; exit 77; }

fill="$WEFT_SRC/tests/integration/lib/cache_fill.mjs"
cache=$work/cache
model=$cache/models--admin--cachetest
# jget FILE EXPR: a value of the JSON in FILE (the object is `j`).
jget() { node -e "const j = JSON.parse(require('fs').readFileSync('$1', 'utf8')); console.log($2)"; }
blob_sum() { find "$1/blobs" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }

start_hub
node "$fill" "$base" "$admin" "$cache" > "$work/fill.out" || fail "the JS client could not fill the cache"
tail -1 "$work/fill.out" > "$work/shas.json"
old=$(jget "$work/shas.json" j.old)
main=$(jget "$work/shas.json" j.main)
[ "$old" != "$main" ] || fail "the two revisions should differ"

# ---- ls --------------------------------------------------------------------------------------
expect_status 0 "$weft" cache --cache-dir "$cache" ls --json
cp "$work/out" "$work/ls.json"
[ "$(jget "$work/ls.json" 'j.repos.length')" = 2 ] || fail "ls: want 2 repos: $(cat "$work/ls.json")"
m='j.repos.find((r) => r.id === "admin/cachetest" && r.type === "model")'
[ "$(jget "$work/ls.json" "$m.size")" = "$(blob_sum "$model")" ] || fail "ls: model size is not the sum of its blobs"
[ "$(jget "$work/ls.json" "$m.files")" = 5 ] || fail "ls: model should have 5 blobs"
# The 300 KiB blob both revisions share is counted once for the repo, once in each revision.
[ "$(jget "$work/ls.json" "$m.size < $m.revisions[0].size + $m.revisions[1].size - 300000")" = true ] ||
    fail "ls: the shared blob was counted twice"
rev() { echo "$m.revisions.find((v) => v.commit === \"$1\")"; }
gattr=$(stat -L -c %s "$model/snapshots/$main/.gitattributes")
[ "$(jget "$work/ls.json" "$(rev "$old").size")" = $((307200 + 7 + 25 + gattr)) ] || fail "ls: size of the old revision"
[ "$(jget "$work/ls.json" "$(rev "$main").size")" = $((307200 + 19 + gattr)) ] || fail "ls: size of main"
[ "$(jget "$work/ls.json" "$(rev "$old").files")" = 4 ] || fail "ls: files of the old revision"
[ "$(jget "$work/ls.json" "$(rev "$old").refs.join()")" = old ] || fail "ls: refs of the old revision"
[ "$(jget "$work/ls.json" "$(rev "$main").refs.join()")" = main ] || fail "ls: refs of main"
d='j.repos.find((r) => r.type === "dataset")'
[ "$(jget "$work/ls.json" "$d.id")" = admin/cachedata ] || fail "ls: dataset id"
expect_status 0 "$weft" cache --cache-dir "$cache" ls
grep -q "^model  *admin/cachetest  *301.53 KiB  *5 " "$work/out" || fail "ls table: $(cat "$work/out")"
grep -q "^    $old .* old$" "$work/out" || fail "ls table lacks the old revision: $(cat "$work/out")"
expect_status 0 "$weft" cache --cache-dir "$cache" --repo-type dataset ls
grep -q admin/cachedata "$work/out" && ! grep -q admin/cachetest "$work/out" || fail "ls --repo-type dataset"
# Without --cache-dir: HF_HUB_CACHE, else $HF_HOME/hub, as huggingface_hub decides.
HF_HUB_CACHE=$cache expect_status 0 "$weft" cache ls
grep -q admin/cachetest "$work/out" || fail "HF_HUB_CACHE was not used"
mkdir -p "$work/hfhome" && ln -s "$cache" "$work/hfhome/hub"
env -u HF_HUB_CACHE HF_HOME="$work/hfhome" "$weft" cache ls > "$work/out" || fail "ls with HF_HOME"
grep -q admin/cachedata "$work/out" || fail "HF_HOME/hub was not used"
ok "ls: sizes count each blob once, revisions with their refs, cache dir from the environment"

# ---- bad input -------------------------------------------------------------------------------
c=(--cache-dir "$cache")
expect_status 3 "$weft" cache "${c[@]}" rm admin/nope
grep -q "^weft: admin/nope is not in the cache" "$work/err" || fail "rm unknown repo: $(cat "$work/err")"
expect_status 3 "$weft" cache "${c[@]}" rm admin/cachetest@nosuchbranch
grep -q "no cached revision nosuchbranch" "$work/err" || fail "rm unknown rev: $(cat "$work/err")"
expect_status 3 "$weft" cache "${c[@]}" rm "admin/cachetest@${old:0:5}" # prefixes need 7 digits
expect_status 2 "$weft" cache "${c[@]}" rm
expect_status 2 "$weft" cache "${c[@]}" rm "admin/cachetest@"
expect_status 2 "$weft" cache "${c[@]}" ls extra
expect_status 2 "$weft" cache "${c[@]}" --repo-type modle ls
grep -q "repo-type must be model, dataset or space" "$work/err" || fail "bad type message"
expect_status 2 "$weft" cache "${c[@]}" prune --older-than 30x
grep -q "bad --older-than '30x'" "$work/err" || fail "bad age message"
expect_status 2 "$weft" cache "${c[@]}" frobnicate
expect_status 2 "$weft" cache "${c[@]}" ls --dry-run
expect_status 2 "$weft" cache
expect_status 0 "$weft" cache --help
grep -q "examples:" "$work/out" || fail "--help has no examples"
# A typo in one of several targets removes nothing.
expect_status 3 "$weft" cache "${c[@]}" rm admin/cachedata admin/typo
[ -d "$cache/datasets--admin--cachedata" ] || fail "a failed rm removed something"
ok "bad input: exit 2 for usage, 3 for what is not cached, nothing removed"

# ---- rm REPO@REV -----------------------------------------------------------------------------
v1=$model/blobs/$(basename "$(readlink "$model/snapshots/$old/config.json")")
only=$model/blobs/$(basename "$(readlink "$model/snapshots/$old/old-only.txt")")
shared=$model/blobs/$(basename "$(readlink "$model/snapshots/$main/weights/shared.bin")")
expect_status 0 "$weft" cache "${c[@]}" rm --dry-run admin/cachetest@old
grep -q "would remove blob $only" "$work/out" || fail "dry run: $(cat "$work/out")"
[ -f "$only" ] && [ -d "$model/snapshots/$old" ] || fail "--dry-run removed something"
expect_status 0 "$weft" cache "${c[@]}" rm admin/cachetest@old
[ ! -e "$model/snapshots/$old" ] || fail "rm left the old snapshot"
[ ! -e "$model/refs/old" ] || fail "rm left refs/old"
[ ! -e "$v1" ] && [ ! -e "$only" ] || fail "rm left the orphaned blobs"
[ -f "$shared" ] || fail "rm removed the blob main still uses"
[ "$(cat "$model/refs/main")" = "$main" ] || fail "refs/main changed"
[ "$(cat "$model/snapshots/$main/config.json")" = '{"v":2,"more":true}' ] || fail "main's config is unreadable"
[ "$(stat -L -c %s "$model/snapshots/$main/weights/shared.bin")" = 307200 ] || fail "main's shared.bin"
[ "$(find "$model/blobs" -type f | wc -l)" = 3 ] || fail "want 3 blobs left: $(ls "$model/blobs")"
grep -q "^freed " "$work/out" || fail "rm prints what it freed"
# The JS client takes the rest as its own: main again downloads nothing.
node "$fill" "$base" "$admin" "$cache" model admin/cachetest main > "$work/again.out"
! grep -q Downloading "$work/again.out" || fail "the JS client downloaded again: $(cat "$work/again.out")"
# REPO alone: the whole folder (type found without --repo-type).
expect_status 0 "$weft" cache "${c[@]}" rm admin/cachedata
[ ! -e "$cache/datasets--admin--cachedata" ] || fail "rm REPO left the folder"
ok "rm: REPO@REV keeps main intact and removes orphaned blobs; REPO removes the folder"

# ---- prune -----------------------------------------------------------------------------------
node "$fill" "$base" "$admin" "$cache" model admin/cachetest old > "$work/again.out"
grep -q Downloading "$work/again.out" || fail "the old revision was not fetched again"
[ -f "$only" ] && [ -f "$v1" ] || fail "the old revision's blobs are back"
orphan=$model/blobs/$(printf 'orphan' | sha256sum | cut -c1-64)
printf 'nobody links to me' > "$orphan"
locked=$model/blobs/$(printf 'locked' | sha256sum | cut -c1-64)
printf 'a download holds my lock' > "$locked"
stale=$model/blobs/$(printf 'stale' | sha256sum | cut -c1-64).incomplete
fresh=$model/blobs/$(printf 'fresh' | sha256sum | cut -c1-64).incomplete
printf 'half' > "$stale"
printf 'half' > "$fresh"
touch -d '2 hours ago' "$stale"
# Everything unused for 40 days except main's own config.
find "$model/blobs" -type f ! -name '*.incomplete' -exec touch -d '40 days ago' {} +
touch "$model/blobs/$(basename "$(readlink "$model/snapshots/$main/config.json")")"
mkdir -p "$cache/.locks/models--admin--cachetest"
lockfile=$cache/.locks/models--admin--cachetest/$(basename "$locked").lock
expect_status 0 "$weft" cache "${c[@]}" prune --older-than 30d --dry-run
grep -q "would remove revision $model/snapshots/$old" "$work/out" || fail "prune dry run: $(cat "$work/out")"
[ -d "$model/snapshots/$old" ] && [ -f "$orphan" ] || fail "prune --dry-run removed something"
flock "$lockfile" "$weft" cache "${c[@]}" prune --older-than 30d > "$work/prune.out" || fail "prune failed"
[ ! -e "$model/snapshots/$old" ] && [ ! -e "$model/refs/old" ] || fail "prune kept the old revision"
[ ! -e "$only" ] && [ ! -e "$v1" ] && [ ! -e "$orphan" ] || fail "prune kept unused blobs: $(cat "$work/prune.out")"
[ ! -e "$stale" ] || fail "prune kept a stale .incomplete"
[ -e "$fresh" ] || fail "prune removed a download under way"
[ -e "$locked" ] || fail "prune removed a blob whose lock was held"
[ -f "$shared" ] && [ "$(cat "$model/snapshots/$main/config.json")" = '{"v":2,"more":true}' ] ||
    fail "prune hurt main"
# The lock is free now: a plain prune (no age) removes the orphan, keeps main.
expect_status 0 "$weft" cache "${c[@]}" prune
[ ! -e "$locked" ] || fail "prune kept an unlocked orphan"
[ -d "$model/snapshots/$main" ] && [ -f "$shared" ] || fail "plain prune touched main"
# Two targets in one repo are removed together.
expect_status 0 "$weft" cache "${c[@]}" rm "admin/cachetest@${main:0:8}" admin/cachetest
[ ! -e "$model" ] || fail "rm REV REPO left the folder"
[ "$(grep -c '^removed repo' "$work/out")" = 1 ] || fail "the repo was removed twice: $(cat "$work/out")"
ok "prune: --older-than removes old revisions and their blobs, orphans, stale downloads; locks respected"
