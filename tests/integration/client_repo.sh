#!/usr/bin/env bash
# The small client commands against a real `weft serve`: login/logout/whoami/env with the token
# file and the HF_* variables, repo create/delete/move/settings (each effect checked with curl
# against the API), ls (-R, paths, pagination over 1000 entries), info, log, branch and tag,
# rm of files and folders, and the documented exit codes for bad input (3 unknown repo or
# revision, 6 missing or read-only token, 7 server down).
source "$(dirname "$0")/lib/common.sh"
start_hub
export HF_HOME=$work/hf HF_ENDPOINT=$base
unset HF_TOKEN HUGGING_FACE_HUB_TOKEN HUGGINGFACE_API_KEY HF_TOKEN_PATH HF_HUB_CACHE WEFT_CHUNK_CACHE
W() { "$weft" "$@"; }
WEFT_HOME=$work/data "$weft" user create bob > /dev/null
bob=$(WEFT_HOME=$work/data "$weft" token create bob --role write 2> /dev/null)
bob_ro=$(WEFT_HOME=$work/data "$weft" token create bob --role read --name ro 2> /dev/null)
[[ $bob == hf_* && $bob_ro == hf_* ]] || fail "token create printed '$bob' '$bob_ro'"
# api METHOD PATH TOKEN [curl args...]: the status in $status, the body in $work/b
api() {
    local method=$1 path=$2 tok=$3
    shift 3
    local auth=()
    [ -n "$tok" ] && auth=(-H "authorization: Bearer $tok")
    status=$(curl -sS -o "$work/b" -w '%{http_code}' -X "$method" "${auth[@]}" "$@" "$base$path")
}

# ---- login, logout, whoami, env ----
expect_status 6 W whoami
grep -q "^weft: .*no token" "$work/err" || fail "whoami without a token: $(cat "$work/err")"
expect_status 6 W login --token hf_notarealtoken0000000000000000000000
[ -e "$HF_HOME/token" ] && fail "a rejected token was saved"
expect_status 2 W login < /dev/null
echo "$bob" | W login > "$work/out" || fail "login from stdin failed"
grep -q "as bob" "$work/out" || fail "login output: $(cat "$work/out")"
[ "$(cat "$HF_HOME/token")" = "$bob" ] || fail "token file holds '$(cat "$HF_HOME/token")'"
[ "$(stat -c %a "$HF_HOME/token")" = 600 ] || fail "token file mode $(stat -c %a "$HF_HOME/token")"
expect_status 0 W whoami
grep -q "^user *bob" "$work/out" || fail "whoami: $(cat "$work/out")"
grep -q "role write, from token file" "$work/out" || fail "whoami token line: $(cat "$work/out")"
expect_status 0 env HF_TOKEN="$admin" "$weft" whoami
grep -q "^user *admin" "$work/out" || fail "HF_TOKEN does not beat the token file: $(cat "$work/out")"
grep -q "from HF_TOKEN" "$work/out" || fail "whoami token source: $(cat "$work/out")"
expect_status 0 env HUGGING_FACE_HUB_TOKEN="$admin" "$weft" whoami --json
grep -q '"name": "admin"' "$work/out" || fail "whoami --json: $(cat "$work/out")"
expect_status 0 W whoami --token "$admin"
grep -q "from --token" "$work/out" || fail "--token source: $(cat "$work/out")"
expect_status 0 W env
grep -q "^endpoint *$base\$" "$work/out" || fail "env endpoint: $(cat "$work/out")"
grep -q "^token *token file\$" "$work/out" || fail "env token source: $(cat "$work/out")"
grep -q "^HF_HOME *$HF_HOME\$" "$work/out" || fail "env HF_HOME: $(cat "$work/out")"
grep -q "^hub cache *$HF_HOME/hub\$" "$work/out" || fail "env hub cache: $(cat "$work/out")"
grep -q "^token file *$HF_HOME/token\$" "$work/out" || fail "env token file: $(cat "$work/out")"
grep -q "^chunk cache *$HF_HOME/weft/chunks\$" "$work/out" || fail "env chunk cache"
grep -q "^libcurl *[0-9]" "$work/out" || fail "env libcurl: $(cat "$work/out")"
grep -q "$bob" "$work/out" && fail "env printed the token"
expect_status 0 env HF_TOKEN="$admin" HF_HUB_CACHE=$work/cache "$weft" env --endpoint http://h.example/
grep -q "^token *HF_TOKEN\$" "$work/out" || fail "env with HF_TOKEN: $(cat "$work/out")"
grep -q "^hub cache *$work/cache\$" "$work/out" || fail "env HF_HUB_CACHE: $(cat "$work/out")"
grep -q "^endpoint *http://h.example\$" "$work/out" || fail "env --endpoint: $(cat "$work/out")"
grep -q "$admin" "$work/out" && fail "env printed HF_TOKEN"
expect_status 0 W logout
[ -e "$HF_HOME/token" ] && fail "logout left the token file"
expect_status 6 W whoami
expect_status 0 W env
grep -q "^token *none\$" "$work/out" || fail "env after logout: $(cat "$work/out")"
# On a terminal (script(1) gives one) login prompts and does not echo the token; it is typed
# only once the prompt shows, i.e. after echo is off.
# on_tty OUT INPUT CMD...: runs CMD on a pseudo-terminal, types INPUT once OUT has output.
on_tty() {
    local out=$1 input=$2
    shift 2
    rm -f "$work/tty.in" && mkfifo "$work/tty.in"
    script -qec "$*" /dev/null < "$work/tty.in" > "$out" &
    local pid=$!
    exec 3> "$work/tty.in"
    for _ in $(seq 200); do [ -s "$out" ] && break; sleep 0.05; done
    sleep 0.2
    printf '%s\n' "$input" >&3
    exec 3>&-
    set +e
    wait "$pid"
    tty_status=$?
    set -e
}
rm -f "$HF_HOME/token"
on_tty "$work/tty.out" "$admin" "$weft" login
[ "$tty_status" = 0 ] || fail "login on a terminal exited $tty_status: $(cat "$work/tty.out")"
grep -q "Token (input hidden)" "$work/tty.out" || fail "no prompt: $(cat "$work/tty.out")"
grep -q "$admin" "$work/tty.out" && fail "login echoed the token on the terminal"
[ "$(cat "$HF_HOME/token")" = "$admin" ] || fail "token typed on the terminal not saved"
ok "login (stdin, terminal without echo, rejected token, 0600 file), whoami, HF_TOKEN beats the file, env, logout"

# ---- repo ----
expect_status 0 W repo create admin/m1
grep -q "created model $base/admin/m1" "$work/out" || fail "repo create: $(cat "$work/out")"
api GET /api/models/admin/m1 ""
[ "$status" = 200 ] || fail "created repo not visible ($status)"
expect_status 1 W repo create admin/m1
grep -q "exists" "$work/err" || fail "repo create twice: $(cat "$work/err")"
expect_status 0 W repo create admin/m1 --exist-ok
expect_status 0 W repo create datasets/admin/d1 --private
api GET /api/datasets/admin/d1 "$admin"
[ "$status" = 200 ] && grep -q '"private":true' "$work/b" || fail "private dataset: $status $(cat "$work/b")"
api GET /api/datasets/admin/d1 "$bob"
[ "$status" = 404 ] || fail "a private repo is visible to another user's token ($status)"
expect_status 3 W info datasets/admin/d1 --token "$bob"
expect_status 0 W repo create s1 --repo-type space --token "$bob"
api GET /api/spaces/bob/s1 "$bob"
[ "$status" = 200 ] || fail "space in the token's namespace ($status)"
expect_status 0 W repo settings admin/m1 --private
api GET /api/models/admin/m1 "$bob"
[ "$status" = 404 ] || fail "settings --private had no effect ($status)"
expect_status 0 W repo settings admin/m1 --public
api GET /api/models/admin/m1 "$bob"
[ "$status" = 200 ] || fail "settings --public had no effect ($status)"
expect_status 2 W repo settings admin/m1
expect_status 0 W repo move admin/m1 admin/m2
api GET /api/models/admin/m1 "$admin"
[ "$status" = 404 ] || fail "moved repo still at the old name ($status)"
api GET /api/models/admin/m2 "$admin"
[ "$status" = 200 ] || fail "moved repo not at the new name ($status)"
expect_status 3 W repo move admin/m1 admin/m3
expect_status 2 W repo move admin/m2 datasets/admin/m2
expect_status 2 W repo delete datasets/admin/d1 < /dev/null
grep -q "without --yes" "$work/err" || fail "delete without --yes: $(cat "$work/err")"
api GET /api/datasets/admin/d1 "$admin"
[ "$status" = 200 ] || fail "refused delete deleted anyway ($status)"
on_tty "$work/tty.out" n "$weft" repo delete datasets/admin/d1
[ "$tty_status" = 1 ] || fail "answering n on a terminal exited $tty_status"
grep -q "with all its files and history? \[y/N\]" "$work/tty.out" || fail "no question: $(cat "$work/tty.out")"
api GET /api/datasets/admin/d1 "$admin"
[ "$status" = 200 ] || fail "answering n deleted the repo ($status)"
on_tty "$work/tty.out" y "$weft" repo delete datasets/admin/d1
[ "$tty_status" = 0 ] || fail "answering y on a terminal exited $tty_status: $(cat "$work/tty.out")"
api GET /api/datasets/admin/d1 "$admin"
[ "$status" = 404 ] || fail "answering y did not delete ($status)"
expect_status 0 W repo create datasets/admin/d1
expect_status 0 W repo delete datasets/admin/d1 --yes
api GET /api/datasets/admin/d1 "$admin"
[ "$status" = 404 ] || fail "deleted repo still there ($status)"
expect_status 3 W repo delete admin/nope --yes
expect_status 6 W repo delete bob/s1 --repo-type space --yes --token "$bob_ro"
expect_status 6 W repo create bob/x --token "$bob_ro"
api GET /api/models/bob/x "$bob"
[ "$status" = 404 ] || fail "read-only token created a repo"
ok "repo create (--private, --exist-ok, types), settings, move, delete (terminal question, --yes), read-only token 6"

# ---- ls, info, log ----
# One commit of 1100 small files under many/, two files in a/b/, a README with card data.
{
    printf '{"key":"header","value":{"summary":"many files","description":""}}\n'
    printf '{"key":"file","value":{"path":"README.md","content":"%s","encoding":"base64"}}\n' \
        "$(printf -- '---\nlicense: mit\ntags:\n- tiny\n---\n# m2\n' | base64 -w0)"
    printf '{"key":"file","value":{"path":"a/b/c.txt","content":"%s","encoding":"base64"}}\n' \
        "$(printf 'hello' | base64 -w0)"
    printf '{"key":"file","value":{"path":"a/top.txt","content":"%s","encoding":"base64"}}\n' \
        "$(printf '0123456789' | base64 -w0)"
    awk 'BEGIN { for (i = 1; i <= 1100; i++)
        printf "{\"key\":\"file\",\"value\":{\"path\":\"many/f%04d.txt\",\"content\":\"eA==\",\"encoding\":\"base64\"}}\n", i }'
} > "$work/commit.ndjson"
api POST /api/models/admin/m2/commit/main "$admin" -H 'content-type: application/x-ndjson' \
    --data-binary "@$work/commit.ndjson"
[ "$status" = 200 ] || fail "NDJSON commit of 1100 files: $status $(cat "$work/b")"
c2=$(sed -E 's/.*"commitOid":"([0-9a-f]{40})".*/\1/' "$work/b")
# An LFS file, to see the marker.
oid=$(printf 'hello lfs' | sha256sum | cut -d' ' -f1)
api POST /admin/m2.git/info/lfs/objects/batch "$admin" -H 'content-type: application/vnd.git-lfs+json' \
    -d "{\"operation\":\"upload\",\"transfers\":[\"basic\"],\"hash_algo\":\"sha_256\",\"objects\":[{\"oid\":\"$oid\",\"size\":9}]}"
href=$(sed -E 's/.*"upload":\{"href":"([^"]*)".*/\1/' "$work/b")
printf 'hello lfs' | curl -sSf -o /dev/null -X PUT --data-binary @- "$href" || fail "LFS upload"
api POST /api/models/admin/m2/commit/main "$admin" -H 'content-type: application/x-ndjson' \
    --data-binary "{\"key\":\"header\",\"value\":{\"summary\":\"add h.bin\"}}
{\"key\":\"lfsFile\",\"value\":{\"path\":\"h.bin\",\"algo\":\"sha256\",\"oid\":\"$oid\",\"size\":9}}"
[ "$status" = 200 ] || fail "LFS commit: $status $(cat "$work/b")"
c3=$(sed -E 's/.*"commitOid":"([0-9a-f]{40})".*/\1/' "$work/b")

expect_status 0 W ls admin/m2
grep -qE '^ +- +a/$' "$work/out" || fail "ls: no folder a/: $(cat "$work/out")"
grep -qE '^ +9 +(lfs|xet) +h\.bin$' "$work/out" || fail "ls: LFS marker and real size: $(cat "$work/out")"
grep -q 'many/f' "$work/out" && fail "ls without -R went into folders"
expect_status 0 W ls admin/m2 a
grep -qE '^ +10 +a/top\.txt$' "$work/out" || fail "ls PATH: $(cat "$work/out")"
[ "$(wc -l < "$work/out")" = 2 ] || fail "ls a: $(cat "$work/out")"
expect_status 0 W ls admin/m2 a -R
grep -qE '^ +5 +a/b/c\.txt$' "$work/out" || fail "ls -R PATH: $(cat "$work/out")"
expect_status 0 W ls admin/m2 many
[ "$(grep -c ' many/f[0-9]*\.txt$' "$work/out")" = 1100 ] ||
    fail "ls over pages: $(grep -c many/ "$work/out") of 1100 entries"
[ "$(sort -u "$work/out" | wc -l)" = 1100 ] || fail "ls over pages repeated entries"
grep -c 'GET /api/models/admin/m2/tree/main/many' "$work/serve.err" > "$work/n" || true
[ "$(cat "$work/n")" -ge 2 ] || fail "1100 entries came in $(cat "$work/n") page(s): no pagination tested"
expect_status 0 W ls admin/m2 -R --revision "$c2"
grep -q ' many/f1100\.txt$' "$work/out" || fail "ls -R --revision"
grep -q 'h\.bin' "$work/out" && fail "ls --revision of the earlier commit shows a later file"
expect_status 3 W ls admin/m2 --revision nosuchbranch
expect_status 3 W ls admin/m2 nosuchdir
expect_status 3 W ls admin/nope

expect_status 0 W info admin/m2
grep -q "^sha *$c3\$" "$work/out" || fail "info sha: $(cat "$work/out")"
grep -q "^private *no\$" "$work/out" || fail "info private: $(cat "$work/out")"
grep -q "^files *1105\$" "$work/out" || fail "info siblings count: $(cat "$work/out")"
grep -q '^card data.*"license":"mit"' "$work/out" || fail "info card data: $(cat "$work/out")"
grep -q '^tags .*tiny' "$work/out" || fail "info tags: $(cat "$work/out")"
grep -q '^last modified *20[0-9-]*T' "$work/out" || fail "info last modified: $(cat "$work/out")"
expect_status 0 W info admin/m2 --revision "$c2" --json
grep -q "\"sha\": \"$c2\"" "$work/out" || fail "info --revision --json: $(cat "$work/out")"
expect_status 3 W info admin/m2 --revision nosuchbranch
expect_status 3 W info admin/nope

expect_status 0 W log admin/m2
[ "$(wc -l < "$work/out")" = 3 ] || fail "log: $(cat "$work/out")"
head -1 "$work/out" | grep -qE "^$c3  20[0-9-]+T[0-9:.]+Z  admin  add h\.bin\$" ||
    fail "log line: $(head -1 "$work/out")"
sed -n 2p "$work/out" | grep -q "^$c2 .*many files" || fail "log order: $(cat "$work/out")"
expect_status 0 W log admin/m2 -n 1
[ "$(wc -l < "$work/out")" = 1 ] || fail "log -n 1: $(cat "$work/out")"
expect_status 0 W log admin/m2 --revision "$c2"
[ "$(wc -l < "$work/out")" = 2 ] || fail "log --revision: $(cat "$work/out")"
expect_status 2 W log admin/m2 -n 0
expect_status 3 W log admin/m2 --revision nosuchbranch
ok "ls (folders, PATH, -R, 1100 entries over pages, --revision), info, log (-n, --revision)"

# ---- branch, tag ----
expect_status 0 W branch create admin/m2 dev --from "$c2"
api GET /api/models/admin/m2/refs "$admin"
grep -q "\"name\":\"dev\",\"ref\":\"refs/heads/dev\",\"targetCommit\":\"$c2\"" "$work/b" ||
    fail "branch create --from: $(cat "$work/b")"
expect_status 0 W branch create admin/m2 feature/x
expect_status 0 W branch ls admin/m2
grep -q "^$c2  dev\$" "$work/out" || fail "branch ls: $(cat "$work/out")"
grep -q "^$c3  feature/x\$" "$work/out" || fail "branch ls (slash in name): $(cat "$work/out")"
grep -q "^$c3  main\$" "$work/out" || fail "branch ls main: $(cat "$work/out")"
expect_status 1 W branch create admin/m2 dev
expect_status 3 W branch create admin/m2 dev2 --from nosuchrev
expect_status 6 W branch create admin/m2 dev3 --token "$bob"
expect_status 0 W branch delete admin/m2 feature/x
api GET /api/models/admin/m2/refs "$admin"
grep -q 'feature/x' "$work/b" && fail "branch delete: $(cat "$work/b")"
expect_status 3 W branch delete admin/m2 feature/x
expect_status 0 W tag create admin/m2 v1 --revision "$c2" -m "first release"
expect_status 0 W tag create admin/m2 v2
expect_status 0 W tag ls admin/m2
grep -q "^$c2  v1\$" "$work/out" || fail "tag ls v1: $(cat "$work/out")"
grep -q "^$c3  v2\$" "$work/out" || fail "tag ls v2: $(cat "$work/out")"
expect_status 0 W ls admin/m2 -R --revision v1
grep -q 'h\.bin' "$work/out" && fail "ls --revision v1 shows a later file"
expect_status 1 W tag create admin/m2 v1
expect_status 0 W tag delete admin/m2 v1
api GET /api/models/admin/m2/refs "$admin"
grep -q '"v1"' "$work/b" && fail "tag delete: $(cat "$work/b")"
expect_status 3 W tag delete admin/m2 v1
expect_status 0 W branch ls admin/m2 --token "$bob_ro"
ok "branch create (--from, slashes)/ls/delete, tag create (-m, --revision)/ls/delete"

# ---- rm ----
expect_status 0 W rm admin/m2 a/top.txt --commit-message "drop top"
api GET /api/models/admin/m2/tree/main/a "$admin"
grep -q '"a/top.txt"' "$work/b" && fail "rm: a/top.txt still in the tree"
grep -q '"a/b"' "$work/b" || fail "rm removed more than asked: $(cat "$work/b")"
expect_status 0 W log admin/m2 -n 1
grep -q "drop top" "$work/out" || fail "rm --commit-message: $(cat "$work/out")"
expect_status 2 W rm admin/m2 many
grep -q -- "-r" "$work/err" || fail "rm of a folder without -r: $(cat "$work/err")"
expect_status 0 W rm admin/m2 many a/b -r
api GET "/api/models/admin/m2/tree/main?recursive=true" "$admin"
grep -q '"many/' "$work/b" && fail "rm -r: many/ still in the tree"
grep -q '"a/b/c.txt"' "$work/b" && fail "rm -r: a/b still in the tree"
grep -q '"h.bin"' "$work/b" || fail "rm -r removed h.bin too: $(cat "$work/b")"
expect_status 3 W rm admin/m2 nosuchfile
expect_status 3 W rm admin/m2 h.bin --revision nosuchbranch
expect_status 6 W rm admin/m2 h.bin --token "$bob_ro"
expect_status 0 W rm admin/m2 README.md --revision dev
api GET /api/models/admin/m2/tree/main "$admin"
grep -q '"README.md"' "$work/b" || fail "rm --revision dev changed main"
api GET /api/models/admin/m2/tree/dev "$admin"
grep -q '"README.md"' "$work/b" && fail "rm --revision dev: README.md still on dev"
ok "rm of files and folders (-r), --revision, --commit-message, bad input"

# ---- bad input, server down ----
expect_status 2 W ls
expect_status 2 W ls admin/m2 --bogus
expect_status 2 W ls "a/b/c/d"
expect_status 2 W ls admin/m2 --repo-type bogus
expect_status 0 W ls --help
grep -q "^examples:" "$work/out" || fail "ls --help has no examples"
for c in login logout whoami env "repo create" "repo delete" "repo move" "repo settings" info log \
    branch tag rm; do
    # shellcheck disable=SC2086
    expect_status 0 W $c --help
    grep -q "example" "$work/out" || fail "'weft $c --help' has no examples"
done
kill "$hub_pid"
wait "$hub_pid" 2> /dev/null || true
for cmd in "whoami" "ls admin/m2" "info admin/m2" "log admin/m2" "repo create admin/z" \
    "branch ls admin/m2" "tag create admin/m2 v9"; do
    # shellcheck disable=SC2086
    expect_status 7 W $cmd
    grep -q "^weft: .*$base" "$work/err" || fail "'$cmd' with the server down: $(cat "$work/err")"
done
ok "bad input: usage 2, help with examples, server down 7"
