#!/usr/bin/env bash
# `weft download` against a real `weft serve`: whole repos, named files, include/exclude,
# revisions (branch, tag, commit), local dirs, nested paths, the exact Hugging Face cache layout,
# no refetch on a second run (counted in the server's request log), resume after kill -9 with
# Range (single-range and ranged files), and bad input with its documented exit code.
. "$(dirname "$0")/lib/common.sh"

start_hub
export HF_HOME=$work/hfhome # no token file, no default cache of the machine
unset HF_TOKEN HUGGING_FACE_HUB_TOKEN HUGGINGFACE_API_KEY HF_HUB_CACHE HF_ENDPOINT
export HF_HUB_DISABLE_XET=1 # the plain HTTP path; Xet downloads: client_xet_download.sh
dl() { "$weft" download --endpoint "$base" --token "$admin" --quiet "$@"; }
api() { # api METHOD PATH [curl args...]: body on stdout, fails on non-2xx
    local m=$1 p=$2
    shift 2
    curl -sSf -X "$m" -H "authorization: Bearer $admin" "$@" "$base$p"
}
make_repo() { api POST /api/repos/create -H 'content-type: application/json' -d "$1" > /dev/null; }

# commit REPO MESSAGE KIND:PATH:FILE...: one commit; KIND is reg (in git) or lfs (batch + PUT)
commit() {
    local repo=$1 msg=$2
    shift 2
    local lines="{\"key\":\"header\",\"value\":{\"summary\":\"$msg\"}}"
    for spec in "$@"; do
        local kind=${spec%%:*} rest=${spec#*:}
        local path=${rest%%:*} file=${rest#*:}
        if [ "$kind" = reg ]; then
            lines+=$'\n'"{\"key\":\"file\",\"value\":{\"path\":\"$path\",\"content\":\"$(base64 -w0 < "$file")\",\"encoding\":\"base64\"}}"
        else
            local oid size href
            oid=$(sha256sum "$file" | cut -d' ' -f1)
            size=$(stat -c %s "$file")
            api POST "/$repo.git/info/lfs/objects/batch" -H 'content-type: application/vnd.git-lfs+json' \
                -d "{\"operation\":\"upload\",\"transfers\":[\"basic\"],\"hash_algo\":\"sha_256\",\"objects\":[{\"oid\":\"$oid\",\"size\":$size}]}" > "$work/batch"
            href=$(grep -o '"upload":{"href":"[^"]*"' "$work/batch" | sed -E 's/.*"href":"([^"]*)"/\1/' || true)
            [ -z "$href" ] || curl -sSf -X PUT --data-binary @"$file" "$href" > /dev/null
            lines+=$'\n'"{\"key\":\"lfsFile\",\"value\":{\"path\":\"$path\",\"algo\":\"sha256\",\"oid\":\"$oid\",\"size\":$size}}"
        fi
    done
    api POST "/api/models/$repo/commit/main" -H 'content-type: application/x-ndjson' --data-binary "$lines" |
        sed -E 's/.*"commitOid":"([0-9a-f]{40})".*/\1/'
}
git_blob_id() { { printf 'blob %d\0' "$(stat -c %s "$1")"; cat "$1"; } | sha1sum | cut -d' ' -f1; }
gets() { grep -c "GET /$1/resolve/" "$work/serve.err" || true; }
bytes_out_since() { # bytes_out_since LINE REPO: body bytes the server sent for resolve GETs after LINE
    tail -n +"$(($1 + 1))" "$work/serve.err" | { grep "GET /$2/resolve/" || true; } |
        sed -E 's/.* out=([0-9]+) .*/\1/' | awk '{s += $1} END {print s + 0}'
}

# ---- a repo with regular and LFS files, nested paths, two commits, a tag and a branch ----
src=$work/src
mkdir -p "$src"
printf '# model m\n' > "$src/README.md"
printf '{"v": 1}\n' > "$src/config1.json"
printf '{"v": 2, "hidden": 64}\n' > "$src/config2.json"
printf 'deep\n' > "$src/x.txt"
head -c 3000000 /dev/urandom > "$src/model.bin"
head -c 1000 /dev/urandom > "$src/model.onnx"
: > "$src/empty"
printf 'odd name\n' > "$src/odd"
make_repo '{"name":"m"}'
c1=$(commit admin/m one reg:README.md:"$src/README.md" reg:config.json:"$src/config1.json" \
    reg:empty.txt:"$src/empty" reg:"odd dir/hé llo+%.txt":"$src/odd" \
    reg:nested/deep/dir/x.txt:"$src/x.txt" lfs:weights/model.bin:"$src/model.bin" \
    lfs:onnx/model.onnx:"$src/model.onnx")
api POST /api/models/admin/m/tag/main -H 'content-type: application/json' -d '{"tag":"v1"}' > /dev/null
api POST /api/models/admin/m/branch/dev -H 'content-type: application/json' -d "{\"startingPoint\":\"$c1\"}" > /dev/null
c2=$(commit admin/m two reg:config.json:"$src/config2.json")
[[ $c1 =~ ^[0-9a-f]{40}$ && $c2 =~ ^[0-9a-f]{40}$ && $c1 != "$c2" ]] || fail "commits: '$c1' '$c2'"

# ---- whole repo into the cache: the exact layout ----
cache=$work/cache
out=$(dl admin/m --cache-dir "$cache")
rd=$cache/models--admin--m
[ "$out" = "$rd/snapshots/$c2" ] || fail "printed '$out', want the snapshot folder"
[ "$(cat "$rd/refs/main")" = "$c2" ] || fail "refs/main: $(cat "$rd/refs/main")"
check_file() { # check_file SNAPSHOT PATH SOURCE KIND
    local link=$1/$2 want
    [ -L "$link" ] || fail "$2 is not a symlink"
    if [ "$4" = lfs ]; then want=$(sha256sum "$3" | cut -d' ' -f1); else want=$(git_blob_id "$3"); fi
    local depth target
    depth=$(($(tr -cd / <<< "$2" | wc -c) + 2))
    target=$(printf '../%.0s' $(seq $depth))blobs/$want
    [ "$(readlink "$link")" = "$target" ] || fail "$2 links to $(readlink "$link"), want $target"
    [ -f "$rd/blobs/$want" ] && [ ! -L "$rd/blobs/$want" ] || fail "blob $want of $2 missing"
    cmp -s "$link" "$3" || fail "$2: other bytes"
}
check_file "$out" README.md "$src/README.md" reg
check_file "$out" config.json "$src/config2.json" reg
check_file "$out" nested/deep/dir/x.txt "$src/x.txt" reg
check_file "$out" weights/model.bin "$src/model.bin" lfs
check_file "$out" onnx/model.onnx "$src/model.onnx" lfs
check_file "$out" empty.txt "$src/empty" reg
check_file "$out" "odd dir/hé llo+%.txt" "$src/odd" reg
[ "$(find "$rd/blobs" -type f | wc -l)" = 8 ] || fail "blobs: $(ls "$rd/blobs")" # + .gitattributes
! find "$cache" -name '*.incomplete*' | grep -q . || fail "leftover .incomplete files"
[ -d "$cache/.locks/models--admin--m" ] || fail "no .locks folder"
ok "whole repo: blobs named by sha256 (LFS) and git blob id, relative links, refs/main; empty file, odd names"

# ---- a second download fetches no file bodies ----
before=$(gets admin/m)
out2=$(dl admin/m --cache-dir "$cache")
[ "$out2" = "$out" ] || fail "second run printed '$out2'"
[ "$(gets admin/m)" = "$before" ] || fail "second run made $(($(gets admin/m) - before)) GETs"
grep -q "HEAD /admin/m/resolve/" "$work/serve.err" || fail "no HEAD requests in the log"
ok "second download: no GET of file bodies"

# ---- named files, include/exclude ----
out=$(dl admin/m config.json nested/deep/dir/x.txt --cache-dir "$work/c2")
[ "$(find "$work/c2/models--admin--m/snapshots/$c2" -type l | wc -l)" = 2 ] || fail "named files: other files came too"
out=$(dl admin/m nested/deep/dir/x.txt --cache-dir "$work/c2")
[ "$out" = "$work/c2/models--admin--m/snapshots/$c2/nested/deep/dir/x.txt" ] || fail "one named file printed '$out'"
dl admin/m --cache-dir "$work/c3" --include '*.json' --include 'weights/' --exclude '*.onnx' > /dev/null
got=$(cd "$work/c3/models--admin--m/snapshots/$c2" && find . -type l | sort | tr '\n' ' ')
[ "$got" = "./config.json ./weights/model.bin " ] || fail "include/exclude gave: $got"
dl admin/m --cache-dir "$work/c3b" --exclude '*.bin' --exclude 'nested/' > /dev/null
got=$(cd "$work/c3b/models--admin--m/snapshots/$c2" && find . -type l | sort | tr '\n' ' ')
[ "$got" = "./.gitattributes ./README.md ./config.json ./empty.txt ./odd dir/hé llo+%.txt ./onnx/model.onnx " ] ||
    fail "exclude gave: $got"
ok "named files (one prints its path), --include/--exclude globs with folder patterns"

# ---- revisions: tag, branch, commit ----
out=$(dl admin/m config.json --revision v1 --cache-dir "$work/c4")
cmp -s "$out" "$src/config1.json" || fail "tag v1: other bytes"
[ "$(cat "$work/c4/models--admin--m/refs/v1")" = "$c1" ] || fail "refs/v1"
out=$(dl admin/m config.json --revision dev --cache-dir "$work/c4")
[ "$out" = "$work/c4/models--admin--m/snapshots/$c1/config.json" ] || fail "branch dev: $out"
[ "$(cat "$work/c4/models--admin--m/refs/dev")" = "$c1" ] || fail "refs/dev"
out=$(dl admin/m config.json --revision "$c2" --cache-dir "$work/c4")
cmp -s "$out" "$src/config2.json" || fail "commit: other bytes"
[ ! -e "$work/c4/models--admin--m/refs/$c2" ] || fail "a refs file for a commit"
ok "revisions: tag, branch, commit (refs only for names)"

# ---- local dir ----
out=$(dl admin/m --local-dir "$work/ld")
[ "$out" = "$work/ld" ] || fail "local dir printed '$out'"
cmp -s "$work/ld/nested/deep/dir/x.txt" "$src/x.txt" && cmp -s "$work/ld/weights/model.bin" "$src/model.bin" ||
    fail "local dir: other bytes"
[ ! -L "$work/ld/weights/model.bin" ] || fail "local dir holds links"
meta=$work/ld/.cache/huggingface/download/weights/model.bin.metadata
[ "$(sed -n 1p "$meta")" = "$c2" ] && [ "$(sed -n 2p "$meta")" = "$(sha256sum "$src/model.bin" | cut -d' ' -f1)" ] &&
    sed -n 3p "$meta" | grep -Eq '^[0-9]+\.[0-9]+$' || fail "metadata: $(cat "$meta")"
[ ! -e "$cache/models--admin--m/blobs/x" ] && [ ! -d "$HF_HOME/hub/models--admin--m" ] || fail "local dir wrote the cache"
before=$(gets admin/m)
dl admin/m --local-dir "$work/ld" > /dev/null
[ "$(gets admin/m)" = "$before" ] || fail "second local-dir run fetched again"
ok "local dir: plain files, huggingface_hub metadata (commit, etag, time), no refetch"

# ---- a missing file: .no_exist and exit 3 ----
expect_status 3 dl admin/m nope.txt --cache-dir "$cache"
grep -q "nope.txt" "$work/err" || fail "no file name in: $(cat "$work/err")"
[ -f "$rd/.no_exist/$c2/nope.txt" ] || fail "no .no_exist marker"
ok "a missing file: exit 3 and .no_exist/<commit>/<path>"

# ---- resume after kill -9 ----
make_repo '{"name":"big"}'
head -c 20000000 /dev/urandom > "$src/mid.bin"
huge=209715200 # a ~200 MiB file fetched in 16 MiB ranges; 80 MiB under ASan (slower server)
[ "$asan" = 1 ] && huge=83886080
head -c $huge /dev/urandom > "$src/huge.bin"
commit admin/big resume lfs:mid.bin:"$src/mid.bin" lfs:huge.bin:"$src/huge.bin" > /dev/null
have_bytes() { # have_bytes INCOMPLETE SIZE: bytes known to be in a .incomplete (ranged: the
    # finished 16 MiB ranges its .parts sidecar lists, as the file is preallocated)
    if [ "$2" -ge 67108864 ]; then
        echo $((($(wc -l < "$1.parts" 2> /dev/null || echo 1) - 1) * 16777216))
    else
        du -B1 "$1" | cut -f1
    fi
}
resume_case() { # resume_case FILE SIZE RATE: kill weft once the .incomplete holds a quarter
    local file=$1 size=$2 rate=$3 oid
    oid=$(sha256sum "$src/$file" | cut -d' ' -f1)
    local inc=$work/rc/models--admin--big/blobs/$oid.incomplete
    # two workers: ranges finish two at a time, so some are done while others are in flight
    WEFT_CLIENT_MAX_RATE=$rate "$weft" download admin/big "$file" --endpoint "$base" --token "$admin" \
        --quiet --cache-dir "$work/rc" --max-workers 2 > /dev/null 2>&1 &
    local pid=$!
    for _ in $(seq 600); do
        [ -f "$inc" ] && [ "$(have_bytes "$inc" "$size")" -gt $((size / 4)) ] && break
        sleep 0.05
    done
    kill -9 $pid 2> /dev/null || fail "weft finished before it could be killed"
    wait $pid 2> /dev/null || true
    sleep 0.3 # the server logs the broken-off requests
    [ -f "$inc" ] || fail "no .incomplete after kill"
    local line
    line=$(wc -l < "$work/serve.err")
    out=$(dl admin/big "$file" --cache-dir "$work/rc")
    cmp -s "$out" "$src/$file" || fail "$file: resumed download has other bytes"
    [ ! -e "$inc" ] && [ ! -e "$inc.parts" ] || fail "$file: .incomplete left behind"
    local sent
    sent=$(bytes_out_since "$line" admin/big)
    [ "$sent" -gt 0 ] && [ "$sent" -lt $((size * 85 / 100)) ] || fail "$file: resume moved $sent of $size bytes"
    ok "$file ($size bytes) killed mid-file resumes with Range: $sent bytes moved"
}
resume_case mid.bin 20000000 8000000
resume_case huge.bin $huge 60000000

# a partial file another tool left (huggingface_hub and @huggingface/hub write in order, no
# sidecar) is continued from its length; a partial file with wrong bytes fails verification
# (exit 4), is discarded, and the next run fetches it whole
oid=$(sha256sum "$src/huge.bin" | cut -d' ' -f1)
mkdir -p "$work/py/models--admin--big/blobs"
head -c $((huge / 2 + 12345)) "$src/huge.bin" > "$work/py/models--admin--big/blobs/$oid.incomplete"
line=$(wc -l < "$work/serve.err")
out=$(dl admin/big huge.bin --cache-dir "$work/py")
cmp -s "$out" "$src/huge.bin" || fail "continuing another tool's partial file: other bytes"
sent=$(bytes_out_since "$line" admin/big)
[ "$sent" -le $((huge / 2)) ] || fail "continuing another tool's partial file moved $sent bytes"
oid=$(sha256sum "$src/mid.bin" | cut -d' ' -f1)
mkdir -p "$work/bad1/models--admin--big/blobs"
head -c 3000000 /dev/urandom > "$work/bad1/models--admin--big/blobs/$oid.incomplete"
expect_status 4 dl admin/big mid.bin --cache-dir "$work/bad1"
grep -q "not $oid" "$work/err" || fail "verification failure: $(cat "$work/err")"
[ ! -e "$work/bad1/models--admin--big/blobs/$oid" ] || fail "bad bytes entered the cache"
out=$(dl admin/big mid.bin --cache-dir "$work/bad1")
cmp -s "$out" "$src/mid.bin" || fail "the run after a verification failure: other bytes"
ok "another tool's partial file is continued ($sent bytes moved); wrong partial bytes: exit 4, then a clean refetch"

# a ranged file whose sidecar lists a middle range with wrong bytes: the ranges before and after
# it are hashed as they arrive, that one is read back from the file, and the blob is refused
oid=$(sha256sum "$src/huge.bin" | cut -d' ' -f1)
inc=$work/bad2/models--admin--big/blobs/$oid.incomplete
mkdir -p "$(dirname "$inc")"
truncate -s "$huge" "$inc"
head -c 16777216 /dev/urandom | dd of="$inc" bs=16777216 seek=2 conv=notrunc status=none
printf 'weft-parts 1 %d 16777216\n2\n' "$huge" > "$inc.parts"
expect_status 4 dl admin/big huge.bin --cache-dir "$work/bad2" --max-workers 3
grep -q "not $oid" "$work/err" || fail "ranged verification failure: $(cat "$work/err")"
[ ! -e "$work/bad2/models--admin--big/blobs/$oid" ] || fail "bad ranged bytes entered the cache"
[ ! -e "$inc.parts" ] && [ "$(stat -c %s "$inc")" = 0 ] || fail "refused ranged bytes were kept for a resume"
ok "a ranged file with one wrong finished range: exit 4, and the next run starts over"

# ---- bad input ----
expect_status 3 dl admin/nosuch --cache-dir "$work/bad"
grep -q "RepoNotFound" "$work/err" || fail "unknown repo: $(cat "$work/err")"
expect_status 3 dl admin/m --revision nosuchbranch --cache-dir "$work/bad"
grep -qi "revision" "$work/err" || fail "bad revision: $(cat "$work/err")"
make_repo '{"name":"secret","private":true}'
expect_status 6 "$weft" download admin/secret --endpoint "$base" --quiet --cache-dir "$work/bad"
grep -q "token" "$work/err" || fail "private repo: $(cat "$work/err")"
expect_status 7 "$weft" download admin/m --endpoint http://127.0.0.1:1 --quiet --cache-dir "$work/bad"
expect_status 2 "$weft" download --endpoint "$base"
ok "unknown repo 3, bad revision 3, private repo without token 6, unreachable hub 7, usage 2"

mkdir -p "$work/tiny"
if mount -t tmpfs -o size=8m tmpfs "$work/tiny" 2> /dev/null; then
    trap 'umount "$work/tiny" 2>/dev/null || true; kill $hub_pid 2>/dev/null || true; wait $hub_pid 2>/dev/null || true; rm -rf "$work"' EXIT
    expect_status 5 dl admin/big mid.bin --cache-dir "$work/tiny/cache"
    grep -qi "disk full\|no space" "$work/err" || fail "disk full: $(cat "$work/err")"
    dl admin/m config.json --cache-dir "$work/tiny/cache" > /dev/null || fail "a small file after disk full"
    umount "$work/tiny"
    ok "disk full (8 MiB tmpfs): exit 5 with a clear message; small files still work"
else
    echo "skip: cannot mount a tmpfs (not root?): disk-full case not run"
fi

# ---- the hub goes away mid-file (last: it stops the hub): retries, then exit 7 ----
oid=$(sha256sum "$src/mid.bin" | cut -d' ' -f1)
set +e
WEFT_CLIENT_MAX_RATE=4000000 "$weft" download admin/big mid.bin --endpoint "$base" --token "$admin" \
    --quiet --cache-dir "$work/gone" > "$work/out" 2> "$work/err" &
pid=$!
for _ in $(seq 400); do
    [ -f "$work/gone/models--admin--big/blobs/$oid.incomplete" ] && break
    sleep 0.05
done
sleep 0.5
kill -9 "$hub_pid"
wait "$pid"
got=$?
set -e
[ "$got" = 7 ] || fail "hub gone mid-file: exit $got, want 7: $(cat "$work/err")"
grep -q "^weft: mid.bin: " "$work/err" || fail "hub gone mid-file: no file name in: $(cat "$work/err")"
ok "the hub gone mid-file: exit 7 naming the file ($(head -c 120 "$work/err"))"
