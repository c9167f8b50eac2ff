#!/usr/bin/env bash
# curl against a real `weft serve`: error headers and bad input. Each bad request gets a clear
# 4xx with X-Error-Message (and X-Error-Code where the clients need one) and changes nothing.
# Also token roles, tags, folder deletes and tree pagination.
. "$(dirname "$0")/lib/common.sh"

"$weft" serve --data "$work/data" --listen 127.0.0.1:0 --port-file "$work/port" --quiet > "$work/serve.out" 2> "$work/serve.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 200); do [ -s "$work/port" ] && grep -q serving "$work/serve.out" && break; sleep 0.05; done
base=http://127.0.0.1:$(cat "$work/port")
admin=$(grep -o 'hf_[A-Za-z0-9]*' "$work/serve.out" | head -1)
WEFT_HOME=$work/data "$weft" user create rita > /dev/null
reader=$(WEFT_HOME=$work/data "$weft" token create rita --role read 2> /dev/null)
writer=$(WEFT_HOME=$work/data "$weft" token create rita --role write 2> /dev/null)
[[ $reader == hf_* && $writer == hf_* ]] || fail "token create printed '$reader' '$writer'"

# req METHOD PATH TOKEN [curl args...]: status in $status, headers in $work/h, body in $work/b
req() {
    local method=$1 path=$2 tok=$3
    shift 3
    local auth=()
    [ -n "$tok" ] && auth=(-H "authorization: Bearer $tok")
    status=$(curl -sS -o "$work/b" -D "$work/h" -w '%{http_code}' -X "$method" "${auth[@]}" "$@" "$base$path")
}
want() { # want STATUS [X-Error-Code]
    [ "$status" = "$1" ] || fail "want $1, got $status: $(cat "$work/b")"
    grep -qi '^x-error-message:' "$work/h" || [ "$1" -lt 400 ] || fail "no X-Error-Message"
    if [ -n "${2:-}" ]; then grep -qi "^x-error-code: $2" "$work/h" || fail "want X-Error-Code $2: $(cat "$work/h")"; fi
}
head_sha() { curl -sS -H "authorization: Bearer $admin" "$base/api/models/admin/r" | sed -E 's/.*"sha":"([0-9a-f]{40})".*/\1/'; }
ndjson() { req POST /api/models/admin/r/commit/main "$admin" -H 'content-type: application/x-ndjson' --data-binary "$1"; }

req POST /api/repos/create "$admin" -H 'content-type: application/json' -d '{"name":"r"}'
want 200
sha0=$(head_sha)

# ---- bad input to the commit API changes nothing ----
ndjson $'{"key":"header","value":{"summary":"x"}}\n{not json'
want 400; [ "$(head_sha)" = "$sha0" ] || fail "malformed NDJSON moved the branch"
ok "malformed NDJSON: 400"
ndjson $'{"key":"header","value":{"summary":"x"}}\n{"key":"file","value":{"path":"a/../../etc","content":"eA==","encoding":"base64"}}'
want 400; [ "$(head_sha)" = "$sha0" ] || fail "a '..' path moved the branch"
ndjson $'{"key":"header","value":{"summary":"x"}}\n{"key":"file","value":{"path":".git/config","content":"eA==","encoding":"base64"}}'
want 400
ok "'..' and .git paths: 400"
ndjson $'{"key":"header","value":{"summary":"x"}}\n{"key":"lfsFile","value":{"path":"m.bin","algo":"sha256","oid":"xyz","size":3}}'
want 400
ndjson $'{"key":"header","value":{"summary":"x"}}\n{"key":"file","value":{"path":"b.txt","content":"!!notbase64","encoding":"base64"}}'
want 400
ndjson $'{"key":"header","value":{"summary":"x"}}\n{"key":"deletedFile","value":{"path":"never-was.txt"}}'
want 404 EntryNotFound
ndjson $'{"key":"header","value":{"summary":"x"}}\n{"key":"bogus","value":{"path":"x"}}'
want 400
[ "$(head_sha)" = "$sha0" ] || fail "a refused commit moved the branch"
ok "bad hashes, bad base64, unknown keys, deleting what is not there: 4xx, nothing written"

# ---- a good commit, then folder deletes, tags, revisions ----
lines='{"key":"header","value":{"summary":"many files"}}'
for i in $(seq -w 1 60); do lines+=$'\n'"{\"key\":\"file\",\"value\":{\"path\":\"dir/f$i.txt\",\"content\":\"$(printf 'file %s' "$i" | base64)\",\"encoding\":\"base64\"}}"; done
ndjson "$lines"
want 200
req GET "/api/models/admin/r/tree/main/dir?expand=true" "$admin"
want 200
n1=$(grep -o '"path"' "$work/b" | wc -l)
next=$(grep -i '^link:' "$work/h" | sed -E 's/^[Ll]ink: <([^>]*)>; rel="next".*/\1/' | tr -d '\r')
[ "$n1" = 50 ] && [ -n "$next" ] || fail "first tree page: $n1 entries, next '$next'"
grep -q '"lastCommit"' "$work/b" || fail "expand=true gave no lastCommit"
curl -sS -H "authorization: Bearer $admin" "$next" > "$work/b2"
n2=$(grep -o '"path"' "$work/b2" | wc -l)
[ "$n2" = 10 ] || fail "second tree page has $n2 entries"
ok "tree pagination with expand (50 + 10, absolute Link)"

req POST /api/models/admin/r/tag/main "$admin" -H 'content-type: application/json' -d '{"tag":"v1","message":"first"}'
want 200
req POST /api/models/admin/r/tag/main "$admin" -H 'content-type: application/json' -d '{"tag":"v1"}'
want 409
req GET /admin/r/resolve/v1/dir/f07.txt ""
want 200; [ "$(cat "$work/b")" = "file 07" ] || fail "resolve by tag"
ndjson $'{"key":"header","value":{"summary":"rm dir"}}\n{"key":"deletedFolder","value":{"path":"dir/"}}'
want 200
req GET /admin/r/resolve/main/dir/f07.txt ""
want 404 EntryNotFound
req GET /admin/r/resolve/v1/dir/f07.txt ""
want 200
req POST /api/models/admin/r/commit/v1 "$admin" -H 'content-type: application/x-ndjson' --data-binary $'{"key":"header","value":{"summary":"x"}}'
want 400
req DELETE /api/models/admin/r/tag/v1 "$admin"
want 200
req GET /admin/r/resolve/v1/dir/f07.txt ""
want 404 RevisionNotFound
ok "tags, folder delete, commit to a tag refused"

# ---- ranges ----
req GET /admin/r/resolve/main/.gitattributes "" -H 'Range: bytes=999999-'
want 416; grep -qi '^content-range: bytes \*/' "$work/h" || fail "416 without Content-Range"
req GET /admin/r/resolve/main/.gitattributes "" -H 'Range: bytes=0-0'
want 206; grep -qi '^content-range: bytes 0-0/' "$work/h" || fail "206 without Content-Range"
ok "ranges: 206 and 416 with Content-Range"

# ---- token roles ----
req POST /api/repos/create "$reader" -H 'content-type: application/json' -d '{"name":"nope"}'
want 403
req POST /api/repos/create "$writer" -H 'content-type: application/json' -d '{"name":"mine","private":true}'
want 200
req GET /api/models/rita/mine "$reader"
want 200
req POST /api/models/rita/mine/commit/main "$reader" -H 'content-type: application/x-ndjson' --data-binary $'{"key":"header","value":{"summary":"x"}}\n{"key":"file","value":{"path":"a","content":"eA==","encoding":"base64"}}'
want 403
req POST /api/models/admin/r/commit/main "$writer" -H 'content-type: application/x-ndjson' --data-binary $'{"key":"header","value":{"summary":"x"}}'
want 403
req GET /api/models/rita/mine ""
want 401 RepoNotFound
req GET /api/whoami-v2 "hf_thisisnotatokenxxxxxxxxxxxxxxxxxxx"
want 401
ok "read tokens read, write tokens write their own namespace only, bad tokens 401"

# ---- orgs: members write to the org's namespace, others may not ----
WEFT_HOME=$work/data "$weft" org create acme --owner rita > /dev/null
req POST /api/repos/create "$writer" -H 'content-type: application/json' -d '{"name":"shared","organization":"acme","private":true}'
want 200
req GET /api/models/acme/shared "$writer"
want 200
req POST /api/repos/create "$admin" -H 'content-type: application/json' -d '{"name":"shared2","organization":"acme"}'
want 200 # a site admin may
WEFT_HOME=$work/data "$weft" user create otto > /dev/null
otto=$(WEFT_HOME=$work/data "$weft" token create otto 2> /dev/null)
req POST /api/repos/create "$otto" -H 'content-type: application/json' -d '{"name":"x","organization":"acme"}'
want 403
req GET /api/models/acme/shared "$otto"
want 404 RepoNotFound
WEFT_HOME=$work/data "$weft" org add acme otto > /dev/null
req GET /api/models/acme/shared "$otto"
want 200
req GET /api/whoami-v2 "$otto"
want 200; grep -q '"name":"acme"' "$work/b" || fail "whoami does not list the org: $(cat "$work/b")"
ok "org members read and write the org's repos, non-members see nothing"

# ---- LFS: tampered URLs and wrong content ----
oid=$(printf 'hello lfs' | sha256sum | cut -d' ' -f1)
req POST /admin/r.git/info/lfs/objects/batch "$admin" -H 'content-type: application/vnd.git-lfs+json' \
    -d "{\"operation\":\"upload\",\"transfers\":[\"basic\"],\"hash_algo\":\"sha_256\",\"objects\":[{\"oid\":\"$oid\",\"size\":9},{\"oid\":\"BAD\",\"size\":1}]}"
want 200
grep -q '"code":422' "$work/b" || fail "a bad oid got no per-object error: $(cat "$work/b")"
href=$(sed -E 's/.*"upload":\{"href":"([^"]*)".*/\1/' "$work/b")
[[ $href == http* ]] || fail "no upload href: $(cat "$work/b")"
status=$(printf 'hello lfs' | curl -sS -o "$work/b" -w '%{http_code}' -X PUT --data-binary @- "${href/size=9/size=10}")
[ "$status" = 403 ] || fail "a tampered URL was accepted ($status)"
status=$(printf 'HELLO LFS' | curl -sS -o "$work/b" -w '%{http_code}' -X PUT --data-binary @- "$href")
[ "$status" = 400 ] || fail "wrong content was accepted ($status)"
req POST /api/models/admin/r/commit/main "$admin" -H 'content-type: application/x-ndjson' --data-binary "{\"key\":\"header\",\"value\":{\"summary\":\"x\"}}
{\"key\":\"lfsFile\",\"value\":{\"path\":\"h.bin\",\"algo\":\"sha256\",\"oid\":\"$oid\",\"size\":9}}"
want 422
status=$(printf 'hello lfs' | curl -sS -o "$work/b" -w '%{http_code}' -X PUT --data-binary @- "$href")
[ "$status" = 200 ] || fail "the right content was refused ($status): $(cat "$work/b")"
req POST /api/models/admin/r/commit/main "$admin" -H 'content-type: application/x-ndjson' --data-binary "{\"key\":\"header\",\"value\":{\"summary\":\"x\"}}
{\"key\":\"lfsFile\",\"value\":{\"path\":\"h.bin\",\"algo\":\"sha256\",\"oid\":\"$oid\",\"size\":9}}"
want 200
got=$(curl -sS "$base/admin/r/resolve/main/h.bin"); [ "$got" = "hello lfs" ] || fail "LFS file content: $got"
ok "LFS: tampered URL 403, wrong content 400 and not stored, right content stored and committed"

# ---- other bad requests ----
req POST /api/repos/create "$admin" -H 'content-type: application/json' -d '{"name":'
want 400
req POST /api/repos/create "$admin" -H 'content-type: application/json' -d '{"name":"bad--name"}'
want 400
head -c 17000000 /dev/zero | tr '\0' 'a' > "$work/big.json"
req POST /api/validate-yaml "$admin" -H 'content-type: application/json' --data-binary @"$work/big.json"
want 413
req POST /api/validate-yaml "$admin" -H 'content-type: application/json' -d '{"content":"---\nkey: [unclosed\n---\n"}'
want 400
grep -q 'line' "$work/b" || fail "validate-yaml error has no position: $(cat "$work/b")"
req GET /api/models/admin/r/revision/doesnotexist ""
want 404 RevisionNotFound
req GET /api/nothing/here ""
want 404
ok "bad JSON, bad names, oversize bodies, bad YAML, unknown revisions and routes"
