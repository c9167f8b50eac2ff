#!/usr/bin/env bash
# Real git and git-lfs against a real `weft serve`: clone over smart HTTP, push commits with
# regular and LFS files (LFS through the batch API), see pushed commits through the REST API,
# private repos need the token, pushes need write access.
. "$(dirname "$0")/lib/common.sh"
command -v git-lfs > /dev/null || { echo "skip: git-lfs is not installed"; exit 77; }

data=$work/data
"$weft" serve --data "$data" --listen 127.0.0.1:0 --port-file "$work/port" --quiet > "$work/serve.out" 2> "$work/serve.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 200); do [ -s "$work/port" ] && grep -q serving "$work/serve.out" && break; sleep 0.05; done
port=$(cat "$work/port")
token=$(grep -o 'hf_[A-Za-z0-9]*' "$work/serve.out" | head -1)
[ -n "$token" ] || fail "no admin token printed: $(cat "$work/serve.out")"
base=http://127.0.0.1:$port
api() { curl -sS -H "authorization: Bearer $token" "$@"; }

export HOME=$work/home GIT_TERMINAL_PROMPT=0 GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"
git config --global user.name tester
git config --global user.email tester@example.com
git config --global init.defaultBranch main
git lfs install --skip-repo > /dev/null

api -X POST "$base/api/repos/create" -d '{"name":"gitrepo","type":"model"}' -H 'content-type: application/json' > /dev/null
api -X POST "$base/api/repos/create" -d '{"name":"hidden","private":true}' -H 'content-type: application/json' > /dev/null
ok "repos created"

# clone the public repo anonymously: the initial commit with .gitattributes
git clone -q "$base/admin/gitrepo" "$work/clone" 2> "$work/err" || fail "clone: $(cat "$work/err")"
[ -f "$work/clone/.gitattributes" ] || fail "the clone lacks .gitattributes"
grep -q 'safetensors filter=lfs' "$work/clone/.gitattributes" || fail ".gitattributes has no LFS rules"
ok "anonymous clone of a public repo"

# push without credentials is refused
cd "$work/clone"
echo hello > hello.txt
git add hello.txt && git commit -qm "add hello"
if git push -q origin main 2> "$work/err"; then fail "anonymous push succeeded"; fi
ok "anonymous push refused"

# push with the token as the password: a regular file and an LFS file
head -c 3000000 /dev/urandom > weights.safetensors
git add weights.safetensors && git commit -qm "add weights"
git remote set-url origin "http://admin:$token@127.0.0.1:$port/admin/gitrepo"
git push -q origin main 2> "$work/err" || fail "push: $(cat "$work/err")"
ok "push with regular and LFS files"

sha=$(git rev-parse HEAD)
api "$base/api/models/admin/gitrepo" > "$work/info.json"
grep -q "\"sha\":\"$sha\"" "$work/info.json" || fail "REST sha is not the pushed head: $(cat "$work/info.json")"
want=$(sha256sum weights.safetensors | cut -d' ' -f1)
curl -sS "$base/admin/gitrepo/resolve/main/weights.safetensors" -o "$work/dl"
got=$(sha256sum "$work/dl" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "LFS file downloaded through resolve differs"
curl -sS "$base/admin/gitrepo/resolve/main/hello.txt" | grep -qx hello || fail "hello.txt differs"
api "$base/api/models/admin/gitrepo/tree/main" | grep -q "\"oid\":\"$want\"" || fail "tree lacks the LFS oid"
ok "pushed commit visible through the REST API, LFS content served"

# a fresh clone pulls the LFS content through the batch API
git clone -q "$base/admin/gitrepo" "$work/clone2" 2> "$work/err" || fail "second clone: $(cat "$work/err")"
cmp "$work/clone2/weights.safetensors" weights.safetensors || fail "git lfs pull gave other bytes"
ok "git lfs pull on clone"

# commits made through the API show up in git
api -X POST "$base/api/models/admin/gitrepo/commit/main" -H 'content-type: application/x-ndjson' \
    --data-binary $'{"key":"header","value":{"summary":"api commit"}}\n{"key":"file","value":{"path":"api.txt","content":"ZnJvbSBhcGk=","encoding":"base64"}}' > "$work/commit.json"
grep -q commitOid "$work/commit.json" || fail "API commit failed: $(cat "$work/commit.json")"
git pull -q origin main 2> "$work/err" || fail "pull: $(cat "$work/err")"
[ "$(cat api.txt)" = "from api" ] || fail "API commit not seen by git pull"
ok "API commit fetched by git"

# private repo: anonymous clone fails, clone with the token works
cd "$work"
if git clone -q "$base/admin/hidden" "$work/h1" 2> "$work/err"; then fail "anonymous clone of a private repo"; fi
git clone -q "http://admin:$token@127.0.0.1:$port/admin/hidden" "$work/h2" 2> "$work/err" || fail "private clone: $(cat "$work/err")"
ok "private repo needs the token"

# datasets live under datasets/
api -X POST "$base/api/repos/create" -d '{"name":"ds","type":"dataset"}' -H 'content-type: application/json' > /dev/null
git clone -q "$base/datasets/admin/ds" "$work/ds" 2> "$work/err" || fail "dataset clone: $(cat "$work/err")"
ok "dataset clone"

kill -TERM $pid
wait $pid || fail "weft serve did not exit cleanly on SIGTERM"
ok "graceful shutdown"
