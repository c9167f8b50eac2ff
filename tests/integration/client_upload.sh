#!/usr/bin/env bash
# weft upload against real `weft serve` hubs: a Xet hub (start_hub) and an LFS-only hub
# (--no-xet). Small text files go inline, large binaries through Xet or LFS (multipart above
# 64 MiB); everything is read back with curl /resolve and compared with sha256sum. Unchanged files
# make no commit; --create-pr makes refs/pr/1; --private creates a private repo; bad input fails
# with clear messages and exit codes. Dedup of edits and resumed uploads: client_upload_resume.sh.
source "$(dirname "$0")/lib/common.sh"

start_hub
xet_base=$base
xet_log=$work/serve.err
tok=$admin

# The LFS-only hub, in its own directory.
lfs_dir=$work/lfs
mkdir -p "$lfs_dir"
"$weft" serve --no-xet --data "$lfs_dir/data" --listen 127.0.0.1:0 --port-file "$lfs_dir/port" \
    > "$lfs_dir/serve.out" 2> "$lfs_dir/serve.err" &
lfs_pid=$!
trap 'kill $hub_pid $lfs_pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 400); do [ -s "$lfs_dir/port" ] && grep -q serving "$lfs_dir/serve.out" && break; sleep 0.05; done
[ -s "$lfs_dir/port" ] || fail "second weft serve did not start"
lfs_base=http://127.0.0.1:$(cat "$lfs_dir/port")
lfs_tok=$(grep -o 'hf_[A-Za-z0-9]*' "$lfs_dir/serve.out" | head -1)
lfs_log=$lfs_dir/serve.err

export HF_HOME=$work/hf HF_TOKEN=$tok HF_ENDPOINT=$xet_base
unset HF_HUB_CACHE WEFT_CHUNK_CACHE HF_TOKEN_PATH || true

source "$(dirname "$0")/lib/upload.sh"

# ---- bad input ------------------------------------------------------------------------------
expect_status 2 "$weft" upload admin/m
grep -q 'missing PATH' "$work/err" || fail "no 'missing PATH' message: $(cat "$work/err")"
expect_status 3 "$weft" upload admin/m "$work/does-not-exist" --create
grep -q 'does-not-exist' "$work/err" || fail "missing path not named: $(cat "$work/err")"
echo hi > "$work/hi.txt"
expect_status 3 "$weft" upload admin/nope "$work/hi.txt"
grep -q 'pass --create' "$work/err" || fail "unknown repo message: $(cat "$work/err")"
curl -sf -o /dev/null "$xet_base/api/models/admin/nope" && fail "an unknown repo was created"
expect_status 7 "$weft" upload admin/m "$work/hi.txt" --endpoint http://127.0.0.1:1
grep -q '127.0.0.1:1' "$work/err" || fail "network failure message: $(cat "$work/err")"
ok "bad input: usage (2), missing local path (3), unknown repo without --create (3), no server (7)"

# ---- small text → regular; nested folder with include/exclude -------------------------------
src=$work/src
mkdir -p "$src/sub/deep" "$src/tmp" "$src/.git"
echo "hello" > "$src/a.txt"
echo "world" > "$src/sub/b.txt"
echo '{"k": 1}' > "$src/sub/deep/c.json"
echo "log" > "$src/skip.log"
echo "tmp" > "$src/tmp/x.txt"
echo "git" > "$src/.git/HEAD"
mark=$(lines "$xet_log")
url=$(up admin/m1 "$src" pre --create --include '*.txt' --include '*.json' --exclude 'tmp/*' \
    --commit-message "first upload")
[[ $url == "$xet_base/admin/m1/commit/"* ]] || fail "upload printed '$url'"
for p in a.txt sub/b.txt sub/deep/c.json; do
    [ "$(fetched_sha "$xet_base" "$tok" admin/m1 "pre/$p")" = "$(local_sha "$src/$p")" ] ||
        fail "pre/$p differs after upload"
done
for p in skip.log tmp/x.txt .git/HEAD; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" \
        "$xet_base/admin/m1/resolve/main/pre/$p")
    [ "$code" = 404 ] || fail "pre/$p was uploaded ($code)"
done
# regular files: the git blob is the text itself, and no LFS/Xet traffic happened
[ "$(curl -sf -H "Authorization: Bearer $tok" "$xet_base/admin/m1/raw/main/pre/a.txt")" = hello ] ||
    fail "a.txt is not a regular file"
[ -z "$(log_since "$xet_log" "$mark" '/v1/xorbs|/lfs/')" ] || fail "small files went through LFS/Xet"
curl -sf -H "Authorization: Bearer $tok" "$xet_base/api/models/admin/m1/commits/main" | grep -q 'first upload' ||
    fail "commit message not used"
ok "folder with include/exclude and nested paths; small text files inline"

# a single file to a chosen path
url=$(up admin/m1 "$work/hi.txt" docs/greeting.txt)
[ "$(fetched_sha "$xet_base" "$tok" admin/m1 docs/greeting.txt)" = "$(local_sha "$work/hi.txt")" ] ||
    fail "single file upload"
ok "single file to PATH_IN_REPO"

# ---- large binary through Xet ------------------------------------------------------------------
head -c $((12 << 20)) /dev/urandom > "$work/big.bin"
mark=$(lines "$xet_log")
up admin/m1 "$work/big.bin" > /dev/null
log_since "$xet_log" "$mark" 'POST /v1/xorbs/default/[0-9a-f]{64} 200' | grep -q . || fail "no xorb upload"
log_since "$xet_log" "$mark" 'POST /v1/shards 200' | grep -q . || fail "no shard upload"
[ "$(fetched_sha "$xet_base" "$tok" admin/m1 big.bin)" = "$(local_sha "$work/big.bin")" ] ||
    fail "big.bin differs after a Xet upload"
ok "12 MiB binary through Xet (xorbs + shard), reads back bit-exact"

# ---- unchanged files: no commit ---------------------------------------------------------------
mark=$(lines "$xet_log")
expect_status 0 "$weft" upload admin/m1 "$work/big.bin"
grep -q 'nothing to commit' "$work/err" || fail "no 'nothing to commit': $(cat "$work/err")"
expect_status 0 "$weft" upload admin/m1 "$src" pre --include '*.txt' --include '*.json' --exclude 'tmp/*'
grep -q 'nothing to commit' "$work/err" || fail "unchanged folder committed: $(cat "$work/err")"
[ -z "$(log_since "$xet_log" "$mark" '/commit/|/v1/xorbs')" ] || fail "an unchanged upload sent data"
ok "re-upload of unchanged files makes no commit and sends nothing"

# ---- --create-pr, --private, read token, missing branch ---------------------------------------
echo "pr change" > "$work/pr.txt"
url=$(up admin/m1 "$work/pr.txt" --create-pr)
[[ $url == */discussions/1 ]] || fail "--create-pr printed '$url'"
curl -sf -H "Authorization: Bearer $tok" "$xet_base/api/models/admin/m1/refs?include_prs=1" |
    grep -q 'refs/pr/1' || fail "no refs/pr/1"
[ "$(fetched_sha "$xet_base" "$tok" admin/m1 pr.txt refs%2Fpr%2F1)" = "$(local_sha "$work/pr.txt")" ] ||
    fail "pr.txt not on refs/pr/1"
code=$(curl -s -o /dev/null -w '%{http_code}' "$xet_base/admin/m1/resolve/main/pr.txt")
[ "$code" = 404 ] || fail "--create-pr committed to main"
ok "--create-pr commits to refs/pr/1 and prints the PR URL"

up admin/secret "$work/hi.txt" --private > /dev/null
curl -sf -H "Authorization: Bearer $tok" "$xet_base/api/models/admin/secret" | grep -q '"private":true' ||
    fail "repo not private"
code=$(curl -s -o /dev/null -w '%{http_code}' "$xet_base/api/models/admin/secret")
[ "$code" = 401 ] || [ "$code" = 404 ] || fail "private repo visible anonymously ($code)"
ok "--private creates a private repo"

read_tok=$("$weft" token --data "$work/data" create admin --role read 2>&1 | grep -o 'hf_[A-Za-z0-9]*' | head -1)
[ -n "$read_tok" ] || fail "no read token"
expect_status 6 "$weft" upload admin/m1 "$work/hi.txt" --token "$read_tok"
grep -q '403' "$work/err" || fail "read token message: $(cat "$work/err")"
expect_status 3 "$weft" upload admin/m1 "$work/hi.txt" --revision no-such-branch
grep -q "no branch 'no-such-branch'" "$work/err" || fail "missing branch message: $(cat "$work/err")"
ok "read token exits 6; a missing branch exits 3 with a clear message"

# ---- the LFS-only hub: basic and multipart ----------------------------------------------------
head -c $((70 << 20)) /dev/urandom > "$work/lfs.bin"
export HF_ENDPOINT=$lfs_base HF_TOKEN=$lfs_tok
mark=$(lines "$lfs_log")
up admin/l1 "$work/lfs.bin" --create > /dev/null
up admin/l1 "$work/big.bin" > /dev/null
log_since "$lfs_log" "$mark" 'PUT /api/lfs/part/' | grep -q . || fail "no multipart parts"
log_since "$lfs_log" "$mark" 'PUT /api/lfs/upload/' | grep -q . || fail "no basic PUT"
[ -z "$(log_since "$lfs_log" "$mark" '/v1/')" ] || fail "Xet requests on a --no-xet hub"
[ "$(fetched_sha "$lfs_base" "$lfs_tok" admin/l1 lfs.bin)" = "$(local_sha "$work/lfs.bin")" ] ||
    fail "lfs.bin differs"
[ "$(fetched_sha "$lfs_base" "$lfs_tok" admin/l1 big.bin)" = "$(local_sha "$work/big.bin")" ] ||
    fail "big.bin differs on the LFS hub"
expect_status 0 "$weft" upload admin/l1 "$work/lfs.bin"
grep -q 'nothing to commit' "$work/err" || fail "unchanged LFS file committed"
ok "LFS hub: 70 MiB multipart and 12 MiB basic, bit-exact; unchanged → no commit"

# --no-xet on the Xet hub goes through LFS too
export HF_ENDPOINT=$xet_base HF_TOKEN=$tok
head -c $((11 << 20)) /dev/urandom > "$work/nx.bin"
mark=$(lines "$xet_log")
up admin/m1 "$work/nx.bin" --no-xet > /dev/null
log_since "$xet_log" "$mark" 'PUT /api/lfs/upload/' | grep -q . || fail "--no-xet did not use LFS"
[ -z "$(log_since "$xet_log" "$mark" '/v1/xorbs')" ] || fail "--no-xet sent xorbs"
[ "$(fetched_sha "$xet_base" "$tok" admin/m1 nx.bin)" = "$(local_sha "$work/nx.bin")" ] ||
    fail "nx.bin differs"
ok "--no-xet forces LFS on a Xet hub"
