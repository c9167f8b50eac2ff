#!/usr/bin/env bash
# weft upload through Xet against a real `weft serve`: an edit of 1 MiB in the middle of a 64 MiB
# file sends about 1 MiB of xorbs (bytes-in of /v1/xorbs in the request log), and an upload killed
# with SIGKILL after the server acknowledged some xorbs sends none of those again when re-run;
# both files read back bit-exact (curl /resolve, sha256sum). A hub restarted on an empty store at
# the same URL still gets everything (the client's record of accepted xorbs is dropped).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/upload.sh"

start_hub
xet_base=$base
xet_log=$work/serve.err
tok=$admin
export HF_HOME=$work/hf HF_TOKEN=$tok HF_ENDPOINT=$xet_base
unset HF_HUB_CACHE WEFT_CHUNK_CACHE HF_TOKEN_PATH || true
echo hi > "$work/hi.txt"
up admin/m1 "$work/hi.txt" --create > /dev/null

# ---- edit of 1 MiB in the middle of 64 MiB: about 1 MiB of xorbs ------------------------------
head -c $((64 << 20)) /dev/urandom > "$work/edit.bin"
up admin/m1 "$work/edit.bin" > /dev/null
head -c $((1 << 20)) /dev/urandom | dd of="$work/edit.bin" bs=1M seek=32 conv=notrunc status=none
mark=$(lines "$xet_log")
up admin/m1 "$work/edit.bin" > /dev/null
sent=$(log_since "$xet_log" "$mark" 'POST /v1/xorbs/' | bytes_in)
# 1 MiB + 3 chunks of data, plus the xorb framing (8-byte chunk headers, footer with 32-byte
# hashes and offsets per chunk): at most 16 KiB for the ≈ 40 chunks involved.
limit=$(((1 << 20) + 3 * (128 << 10) + (16 << 10)))
[ "$sent" -gt 0 ] && [ "$sent" -le "$limit" ] || fail "edited file sent $sent xorb bytes (limit $limit)"
[ "$(fetched_sha "$xet_base" "$tok" admin/m1 edit.bin)" = "$(local_sha "$work/edit.bin")" ] ||
    fail "edit.bin differs"
ok "1 MiB edited in 64 MiB: $sent bytes of xorbs sent (≤ $limit)"

# ---- interrupted Xet upload: the re-run sends only the rest -----------------------------------
head -c $((140 << 20)) /dev/urandom > "$work/kill.bin"
mark=$(lines "$xet_log")
"$weft" upload --quiet admin/m1 "$work/kill.bin" > /dev/null 2>&1 &
up_pid=$!
for _ in $(seq 2000); do
    [ -n "$(log_since "$xet_log" "$mark" 'POST /v1/xorbs/.* 200 ')" ] && break
    kill -0 $up_pid 2>/dev/null || break
    sleep 0.01
done
# What the client can know of: acknowledgements logged before the kill (a xorb still in flight may
# be stored after it, unknown to the client, and is allowed to go again).
sleep 0.05
killmark=$(lines "$xet_log")
kill -9 $up_pid 2>/dev/null || fail "the upload finished before it could be interrupted"
wait $up_pid 2>/dev/null || true
# A line marked "(cut)" is a request whose response never reached the client: the killed run's
# xorb in flight may be logged that way even after the re-run started, and the client could not
# know of it.
acked_log=$(sed -n "$((mark + 1)),${killmark}p" "$xet_log" | grep -E 'POST /v1/xorbs/.* 200 ' |
    grep -v '(cut)$' || true)
rerun_log() { log_since "$xet_log" "$mark2" 'POST /v1/xorbs/.* 200 ' | grep -v '(cut)$' || true; }
first=$(echo "$acked_log" | grep -oE '/v1/xorbs/default/[0-9a-f]{64}' | sort -u)
[ -n "$first" ] || fail "no xorb acknowledged before the kill"
log_since "$xet_log" "$mark" 'POST /api/models/admin/m1/commit' | grep -q . && fail "the killed run committed"
mark2=$(lines "$xet_log")
up admin/m1 "$work/kill.bin" > /dev/null
second=$(rerun_log | grep -oE '/v1/xorbs/default/[0-9a-f]{64}' | sort -u)
again=$(comm -12 <(echo "$first") <(echo "$second") | grep -c . || true)
[ "$again" = 0 ] || fail "the re-run sent $again xorbs the server already had"
[ -n "$second" ] || fail "the re-run sent no xorb at all (the killed run cannot have sent all)"
# In bytes: the re-run sends at most what the killed run had not got acknowledged (random data:
# xorb bytes are the file bytes plus 8 bytes a chunk), with a little slack for chunk headers.
acked_bytes=$(echo "$acked_log" | bytes_in)
rerun_bytes=$(rerun_log | bytes_in)
size=$(stat -c %s "$work/kill.bin")
[ "$rerun_bytes" -le $((size - acked_bytes + (256 << 10))) ] ||
    fail "the re-run sent $rerun_bytes xorb bytes; only $((size - acked_bytes)) were missing"
[ "$(fetched_sha "$xet_base" "$tok" admin/m1 kill.bin)" = "$(local_sha "$work/kill.bin")" ] ||
    fail "kill.bin differs after the resumed upload"
ok "killed after $(echo "$first" | grep -c .) xorbs ($acked_bytes bytes); the re-run sent only the other $(echo "$second" | grep -c .) ($rerun_bytes bytes)"


# ---- a server that lost its store: the stale record is dropped, everything is sent again ---------
head -c $((12 << 20)) /dev/urandom > "$work/small.bin"
up admin/m1 "$work/small.bin" > /dev/null
port=${xet_base##*:}
kill "$hub_pid"
wait "$hub_pid" 2> /dev/null || true
"$weft" serve --data "$work/data2" --listen "127.0.0.1:$port" --port-file "$work/port2" \
    > "$work/serve2.out" 2> "$work/serve2.err" &
hub_pid=$!
for _ in $(seq 400); do [ -s "$work/port2" ] && grep -q serving "$work/serve2.out" && break; sleep 0.05; done
grep -q serving "$work/serve2.out" || fail "the new hub did not start on port $port"
export HF_TOKEN=$(grep -o 'hf_[A-Za-z0-9]*' "$work/serve2.out" | head -1)
up admin/m1 "$work/small.bin" --create > /dev/null
[ "$(fetched_sha "$xet_base" "$HF_TOKEN" admin/m1 small.bin)" = "$(local_sha "$work/small.bin")" ] ||
    fail "small.bin differs on the new hub"
grep -qE 'POST /v1/xorbs/.* 200 ' "$work/serve2.err" || fail "no xorb sent to the new hub"
ok "a hub that lost its store gets every xorb again (the local record is dropped)"
